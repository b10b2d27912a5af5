//! Python bindings: see the python issue.
