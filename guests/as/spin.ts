// spin: writes "spinning\n" to stdout (one fd_write, nothing buffered), then
// computes forever without making a single syscall.  The loop stores its state
// to linear memory on every iteration, so no optimizer may remove it.
// It never exits on its own; the host has to stop it.

process.stdout.write("spinning\n");

const cell = heap.alloc(8);
let x: u64 = 0x9e3779b97f4a7c15;
while (true) {
  x = x * 6364136223846793005 + 1442695040888963407;
  x ^= x >>> 29;
  store<u64>(cell, x);
}
