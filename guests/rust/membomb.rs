//! membomb [STEP_PAGES]: grows linear memory by STEP_PAGES 64 KiB pages at a
//! time (default 16 = 1 MiB), writes one byte into every new page so the
//! memory is really committed, and prints `grown to <N> MiB` (total size).
//! When memory.grow is refused it prints `refused at <N> MiB` and exits 0.
//! Exit 2 on a bad argument.

use std::io::Write;

const PAGE: usize = 65536;

fn mib(pages: usize) -> usize {
    pages * PAGE / (1024 * 1024)
}

fn main() {
    let step: usize = match std::env::args().nth(1) {
        None => 16,
        Some(s) => match s.parse::<usize>() {
            Ok(n) if n > 0 => n,
            _ => {
                eprintln!("membomb: bad STEP_PAGES {:?}", s);
                std::process::exit(2);
            }
        },
    };
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    loop {
        let old = core::arch::wasm32::memory_grow(0, step);
        if old == usize::MAX {
            let now = core::arch::wasm32::memory_size(0);
            let _ = writeln!(out, "refused at {} MiB", mib(now));
            let _ = out.flush();
            std::process::exit(0);
        }
        for page in old..old + step {
            // SAFETY: the page was just added to linear memory and is owned by nobody.
            unsafe { core::ptr::write_volatile((page * PAGE) as *mut u8, 1) };
        }
        let _ = writeln!(out, "grown to {} MiB", mib(old + step));
        let _ = out.flush();
    }
}
