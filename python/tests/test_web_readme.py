"""Runs the framework blocks of `python/README.md` ("Web frameworks",
fenced as ```python NAME): each application, as written there, served on
a loopback port (FastAPI and Starlette by uvicorn, Flask by werkzeug, in
this process; Django as a project of its own, made of the README's
settings, tracker and view, run by uvicorn in a child process) and asked
by an HTTP client: the first request starts a session and gets its
cookie, the next one finds it. The other Python blocks are run by
test_readme.py."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import sojourn
from support import free_port
from test_readme import README, ROOT_README
from web_apps import BROWSER, Servers, set_cookies

#: The README's secret (its Quick start defines it).
SECRET = "at least sixteen bytes of secret"
RETENTION = int(sojourn.DEFAULTS["retention"].total_seconds())


def web_blocks() -> dict[str, str]:
    found = re.findall(r"^```python ([\w-]+)\n(.*?)^```$", README.read_text(), flags=re.MULTILINE | re.DOTALL)
    blocks = dict(found)
    assert len(blocks) == len(found), "one block of each name"
    return blocks


def run(name: str) -> dict[str, Any]:
    """The block `name`, run as a module of its own would be."""
    namespace: dict[str, Any] = {"__name__": "readme_" + name.replace("-", "_"), "SECRET": SECRET}
    exec(compile(web_blocks()[name], f"{README}:{name}", "exec"), namespace)
    return namespace


def test_every_framework_has_its_block() -> None:
    assert set(web_blocks()) == {"fastapi", "starlette", "flask", "django-settings", "django-tracking", "django-views"}
    text = README.read_text()
    for line in (
        "app.add_middleware(sojourn.asgi.SojournMiddleware, tracker=tracker)",
        "sojourn.wsgi.init_app(app, tracker)",
        '"sojourn.django.SojournMiddleware"',
    ):
        assert text.count(line) >= 2, f"the table's line is in a block too: {line}"


def test_the_project_readme_shows_these_blocks() -> None:
    """The project README's framework blocks are this README's, as run
    here, letter for letter."""
    shown = re.findall(r"^```python ([\w-]+)\n(.*?)^```$", ROOT_README.read_text(), flags=re.MULTILINE | re.DOTALL)
    assert [name for name, _ in shown] == ["fastapi", "flask", "django-settings"]
    blocks = web_blocks()
    for name, code in shown:
        assert code == blocks[name], name


def cookie_of(response: httpx.Response) -> str:
    cookie = set_cookies(response)["sojourn"]
    assert cookie.endswith(f"; Path=/; Max-Age={RETENTION}; HttpOnly; SameSite=Lax"), cookie
    return cookie


def test_fastapi(servers: Servers) -> None:
    app = run("fastapi")
    url = servers.uvicorn(app["app"])
    with httpx.Client(base_url=url, headers={"User-Agent": BROWSER}) as c:
        r = c.get("/")
        first = r.json()
        assert (first["outcome"], first["events"]) == ("started", 1)
        assert cookie_of(r).startswith("sojourn=" + first["session"])
        assert c.get("/").json() == {"session": first["session"], "outcome": "existing", "events": 2}
        assert "set-cookie" not in c.get("/favicon.ico").headers, "the filter"
    tracker = app["tracker"]
    assert isinstance(tracker, sojourn.AsyncTracker)
    assert asyncio.run(tracker.count()) == 1
    asyncio.run(tracker.close())


def test_starlette(servers: Servers) -> None:
    app = run("starlette")
    url = servers.uvicorn(app["app"])
    with httpx.Client(base_url=url, headers={"User-Agent": BROWSER}) as c:
        r = c.get("/")
        first = r.json()
        assert first["views"] == 1
        cookie_of(r)
        assert c.get("/").json() == {"session": first["session"], "views": 2}
    assert app["tracker"].peek(first["session"]).view_sequence == 2
    app["tracker"].close()


def test_flask(servers: Servers) -> None:
    app = run("flask")
    url = servers.werkzeug(app["app"])
    with httpx.Client(base_url=url, headers={"User-Agent": BROWSER}) as c:
        r = c.post("/login", data={"user": "ann"})
        first = r.json()
        assert first["user"] == "ann"
        cookie_of(r)
        assert c.post("/login", data={"user": "bob"}).json() == {"session": first["session"], "user": "bob"}
    assert app["tracker"].count("bob") == 1 and app["tracker"].stats().started == 1
    app["tracker"].close()


def test_django(tmp_path: Path) -> None:
    """A Django project of the README's blocks (its settings, its
    tracking module, its view), with what any project has around them
    (a secret key, URLs, the ASGI application), served by uvicorn."""
    blocks = web_blocks()
    site = tmp_path / "mysite"
    site.mkdir()
    (site / "__init__.py").write_text("")
    (site / "settings.py").write_text(
        'SECRET_KEY = "readme test"\nALLOWED_HOSTS = ["127.0.0.1"]\nROOT_URLCONF = "mysite.urls"\nUSE_TZ = True\n'
        + blocks["django-settings"]
    )
    (site / "tracking.py").write_text(blocks["django-tracking"])
    (site / "views.py").write_text(blocks["django-views"])
    (site / "urls.py").write_text(
        textwrap.dedent(
            """
            from django.http import JsonResponse
            from django.urls import path
            from mysite.views import home

            def admin(request):
                return JsonResponse({"sojourn": request.sojourn})

            urlpatterns = [path("", home), path("admin/users", admin)]
            """
        )
    )
    (site / "asgi.py").write_text(
        textwrap.dedent(
            """
            import os
            os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
            from django.core.asgi import get_asgi_application
            application = get_asgi_application()
            """
        )
    )
    port = free_port()
    env = {**os.environ, "SOJOURN_SECRET": SECRET, "PYTHONPATH": str(tmp_path)}
    log = tmp_path / "server.log"
    with log.open("wb") as output:
        server = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "mysite.asgi:application", "--host", "127.0.0.1", "--port", str(port),
             "--lifespan", "off", "--log-level", "warning"],
            cwd=tmp_path,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        with httpx.Client(base_url=url, headers={"User-Agent": BROWSER}) as c:
            while True:
                try:
                    r = c.get("/")
                    break
                except httpx.TransportError:
                    if server.poll() is not None or time.monotonic() > deadline:
                        pytest.fail(f"the Django project did not start: {log.read_text()}")
                    time.sleep(0.05)
            first = r.json()
            assert first["outcome"] == "started"
            assert cookie_of(r).startswith("sojourn=" + first["session"])
            assert c.get("/").json() == {"session": first["session"], "outcome": "existing"}
            r = c.get("/admin/users")
            assert r.json() == {"sojourn": None} and "sojourn" not in set_cookies(r), "the settings' skip"
    finally:
        server.terminate()
        server.wait(10)
