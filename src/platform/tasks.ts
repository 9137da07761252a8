/**
 * `nextTask(fn)`: runs `fn` in a task of its own, as soon as the event loop can (after
 * pending promise work, and after the messages and timers already due): `setImmediate`
 * in Node, else one MessageChannel post (browsers clamp nested `setTimeout(0)` to 4 ms).
 * Never synchronously; tasks run in the order they were asked for.
 */
export const nextTask: (fn: () => void) => void = (() => {
  const immediate = (globalThis as { setImmediate?: (f: () => void) => void }).setImmediate;
  if (typeof immediate === 'function') return (fn) => immediate(fn);
  const queue: (() => void)[] = [];
  const channel = new MessageChannel();
  channel.port1.onmessage = () => queue.shift()?.();
  return (fn) => {
    queue.push(fn);
    channel.port2.postMessage(null);
  };
})();
