// Process warnings, caught instead of printed: while `f` runs (and what it
// awaits), every 'warning' event goes to the returned list alone, and the
// listeners (Node's own, which prints them) are put back afterwards.

export async function catchWarnings(f) {
  const listeners = process.listeners('warning')
  process.removeAllListeners('warning')
  const warnings = []
  const listen = (warning) => warnings.push(warning)
  process.on('warning', listen)
  try {
    await f(warnings)
  } finally {
    process.off('warning', listen)
    for (const listener of listeners) process.on('warning', listener)
  }
  return warnings
}
