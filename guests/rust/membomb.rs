//! membomb [--abort] [STEP_PAGES]: grows linear memory by STEP_PAGES 64 KiB pages
//! at a time (default 16 = 1 MiB), writes one byte into every new page so the
//! memory is really committed, and prints `grown to <N> MiB` (total size).
//! When memory.grow is refused it prints `refused at <N> MiB` and exits 0.
//! With --abort it then does what a real program does when an allocation fails:
//! it asks the allocator for STEP_PAGES pages, which cannot grow the memory
//! either, so std prints `memory allocation of <B> bytes failed` to stderr and
//! aborts, which on wasm32-wasi is a trap (`unreachable`).
//! Exit 2 on a bad argument.

use std::io::Write;

const PAGE: usize = 65536;

fn mib(pages: usize) -> usize {
    pages * PAGE / (1024 * 1024)
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let abort = args.first().map(|a| a == "--abort").unwrap_or(false);
    if abort {
        args.remove(0);
    }
    let step: usize = match args.first().cloned() {
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
            if abort {
                // The allocator needs new pages for this and cannot get them: std's
                // alloc error handler prints the failure and aborts (a trap).
                let v: Vec<u8> = Vec::with_capacity(step * PAGE);
                // SAFETY: the vector holds at least one byte of capacity.
                unsafe { core::ptr::write_volatile(v.as_ptr() as *mut u8, 1) };
                eprintln!("membomb: an allocation of {} bytes succeeded after all", step * PAGE);
                std::process::abort();
            }
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
