/** What `f` throws, or 'ok' when it returns: for asserting the error codes WASI 0.2 imports throw (jco's convention). */
export function thrown(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return 'ok';
}
