//! fsops_rs DIR: the fsops transcript through Rust's std::fs and std::io (Rust 1.63,
//! wasm32-wasi). Creates DIR/fsops_rs.d, runs every operation inside it and prints one
//! line per operation, `<op> <args>: <result>`, with names relative to fsops_rs.d.
//! Results are `ok`, a value, or the error: the errno name for an OS error (the WASI
//! errno number mapped to its POSIX name, e.g. ENOENT, ENOTCAPABLE), else
//! `error:<ErrorKind>` for an error std makes up itself.
//!
//! Only values that WASI defines are printed: file types, sizes of regular files and
//! symlinks, link counts of regular files, data read back. Never inode or device
//! numbers, directory sizes or times. read_dir output is sorted. Link counts come from
//! fd_filestat_get called directly (std's MetadataExt::nlink is unstable in 1.63), and
//! file times are not set: File::set_times arrived in Rust 1.75.
//!
//! Removes everything it created and ends with `done` (exit 0). Exit 2 if fsops_rs.d
//! cannot be created (e.g. it exists) or DIR is missing.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::os::wasi::io::AsRawFd;

const ERRNO_NAMES: [&str; 77] = [
    "SUCCESS", "E2BIG", "EACCES", "EADDRINUSE", "EADDRNOTAVAIL", "EAFNOSUPPORT", "EAGAIN", "EALREADY",
    "EBADF", "EBADMSG", "EBUSY", "ECANCELED", "ECHILD", "ECONNABORTED", "ECONNREFUSED", "ECONNRESET",
    "EDEADLK", "EDESTADDRREQ", "EDOM", "EDQUOT", "EEXIST", "EFAULT", "EFBIG", "EHOSTUNREACH", "EIDRM",
    "EILSEQ", "EINPROGRESS", "EINTR", "EINVAL", "EIO", "EISCONN", "EISDIR", "ELOOP", "EMFILE", "EMLINK",
    "EMSGSIZE", "EMULTIHOP", "ENAMETOOLONG", "ENETDOWN", "ENETRESET", "ENETUNREACH", "ENFILE",
    "ENOBUFS", "ENODEV", "ENOENT", "ENOEXEC", "ENOLCK", "ENOLINK", "ENOMEM", "ENOMSG", "ENOPROTOOPT",
    "ENOSPC", "ENOSYS", "ENOTCONN", "ENOTDIR", "ENOTEMPTY", "ENOTRECOVERABLE", "ENOTSOCK", "ENOTSUP",
    "ENOTTY", "ENXIO", "EOVERFLOW", "EOWNERDEAD", "EPERM", "EPIPE", "EPROTO", "EPROTONOSUPPORT",
    "EPROTOTYPE", "ERANGE", "EROFS", "ESPIPE", "ESRCH", "ESTALE", "ETIMEDOUT", "ETXTBSY", "EXDEV",
    "ENOTCAPABLE",
];

#[link(wasm_import_module = "wasi_snapshot_preview1")]
extern "C" {
    #[link_name = "fd_filestat_get"]
    fn wasi_fd_filestat_get(fd: i32, buf: *mut u8) -> i32;
}

fn errname(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) if (0..77).contains(&n) => ERRNO_NAMES[n as usize].to_string(),
        Some(n) => format!("errno{}", n),
        None => format!("error:{:?}", e.kind()),
    }
}

/// Bytes as a quoted string, non-printables as \xNN.
fn quote(b: &[u8]) -> String {
    let mut s = String::from("\"");
    for &c in b {
        match c {
            b'"' | b'\\' => {
                s.push('\\');
                s.push(c as char);
            }
            0x20..=0x7e => s.push(c as char),
            _ => s.push_str(&format!("\\x{:02x}", c)),
        }
    }
    s.push('"');
    s
}

struct T {
    work: String,
    out: io::StdoutLock<'static>,
}

impl T {
    fn p(&self, name: &str) -> String {
        if name == "." {
            self.work.clone()
        } else {
            format!("{}/{}", self.work, name)
        }
    }

    fn line(&mut self, desc: &str, got: String) {
        let _ = writeln!(self.out, "{}: {}", desc, got);
    }

    fn unit(&mut self, desc: &str, r: io::Result<()>) {
        let got = match r {
            Ok(()) => "ok".to_string(),
            Err(e) => errname(&e),
        };
        self.line(desc, got);
    }

    fn num<N: std::fmt::Display>(&mut self, desc: &str, r: io::Result<N>) {
        let got = match r {
            Ok(n) => n.to_string(),
            Err(e) => errname(&e),
        };
        self.line(desc, got);
    }

    fn bytes(&mut self, desc: &str, r: io::Result<Vec<u8>>) {
        let got = match r {
            Ok(b) => format!("{} {}", b.len(), quote(&b)),
            Err(e) => errname(&e),
        };
        self.line(desc, got);
    }

    /// `file size=N`, `dir`, `symlink size=N`, or the error.
    fn meta(&mut self, desc: &str, r: io::Result<fs::Metadata>) {
        let got = match r {
            Ok(m) => {
                let t = m.file_type();
                if t.is_file() {
                    format!("file size={}", m.len())
                } else if t.is_dir() {
                    "dir".to_string()
                } else if t.is_symlink() {
                    format!("symlink size={}", m.len())
                } else {
                    "other".to_string()
                }
            }
            Err(e) => errname(&e),
        };
        self.line(desc, got);
    }

    fn ls(&mut self, name: &str) {
        let got = match fs::read_dir(self.p(name)) {
            Ok(rd) => {
                let mut names: Vec<String> = Vec::new();
                let mut err = None;
                for ent in rd {
                    match ent {
                        Ok(ent) => {
                            let kind = match ent.file_type() {
                                Ok(t) if t.is_dir() => "/",
                                Ok(t) if t.is_symlink() => "@",
                                Ok(_) => "",
                                Err(_) => "?",
                            };
                            names.push(format!("{}{}", ent.file_name().to_string_lossy(), kind));
                        }
                        Err(e) => err = Some(errname(&e)),
                    }
                }
                names.sort();
                match err {
                    Some(e) => e,
                    None => format!("[{}]", names.join(", ")),
                }
            }
            Err(e) => errname(&e),
        };
        self.line(&format!("read_dir {}", name), got);
    }

    fn nlink(&mut self, desc: &str, f: &File) {
        let mut buf = [0u8; 64];
        // SAFETY: buf is 64 bytes, the size of a WASI filestat.
        let rc = unsafe { wasi_fd_filestat_get(f.as_raw_fd(), buf.as_mut_ptr()) };
        let got = if rc == 0 {
            let mut n = [0u8; 8];
            n.copy_from_slice(&buf[24..32]);
            format!("nlink={}", u64::from_le_bytes(n))
        } else {
            ERRNO_NAMES.get(rc as usize).unwrap_or(&"?").to_string()
        };
        self.line(desc, got);
    }
}

fn read_all(f: &mut File) -> io::Result<Vec<u8>> {
    let mut v = Vec::new();
    f.read_to_end(&mut v)?;
    Ok(v)
}

fn read_n(f: &mut File, n: usize) -> io::Result<Vec<u8>> {
    let mut v = vec![0u8; n];
    let got = f.read(&mut v)?;
    v.truncate(got);
    Ok(v)
}

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".to_string());
    let stdout: &'static io::Stdout = Box::leak(Box::new(io::stdout()));
    let mut t = T { work: format!("{}/fsops_rs.d", dir), out: stdout.lock() };

    let r = fs::create_dir(t.p("."));
    let failed = r.is_err();
    t.unit("create_dir fsops_rs.d", r);
    if failed {
        let _ = t.out.flush();
        std::process::exit(2);
    }
    let r = fs::create_dir(t.p("."));
    t.unit("create_dir fsops_rs.d", r);
    let r = fs::metadata(t.p("."));
    t.meta("metadata .", r);
    t.ls(".");

    // create, write, append, read
    let r = OpenOptions::new().write(true).create_new(true).open(t.p("a.txt"));
    match r {
        Ok(mut f) => {
            t.line("open a.txt create_new write", "ok".into());
            let r = f.write_all(b"hello");
            t.unit("write_all a.txt \"hello\"", r);
            let r = f.metadata();
            t.meta("File::metadata a.txt", r);
            let r = f.stream_position();
            t.num("stream_position a.txt", r);
        }
        Err(e) => t.line("open a.txt create_new write", errname(&e)),
    }
    let r = OpenOptions::new().write(true).create_new(true).open(t.p("a.txt")).map(|_| ());
    t.unit("open a.txt create_new write", r);
    let r = OpenOptions::new().create(true).open(t.p("a.txt")).map(|_| ());
    t.unit("open a.txt create without write", r);
    match OpenOptions::new().append(true).open(t.p("a.txt")) {
        Ok(mut f) => {
            t.line("open a.txt append", "ok".into());
            let r = f.seek(SeekFrom::Start(0));
            t.num("seek a.txt Start(0)", r);
            let r = f.write_all(b" world");
            t.unit("write_all a.txt \" world\"", r);
            let r = f.stream_position();
            t.num("stream_position a.txt", r);
        }
        Err(e) => t.line("open a.txt append", errname(&e)),
    }
    let r = fs::read_to_string(t.p("a.txt")).map(|s| s.into_bytes());
    t.bytes("read_to_string a.txt", r);
    match File::open(t.p("a.txt")) {
        Ok(mut f) => {
            t.line("File::open a.txt", "ok".into());
            let r = read_all(&mut f);
            t.bytes("read_to_end a.txt", r);
            let r = read_n(&mut f, 64);
            t.bytes("read a.txt 64", r);
            let r = f.write(b"x");
            t.num("write a.txt (read-only) \"x\"", r);
            let r = f.set_len(1);
            t.unit("set_len a.txt (read-only) 1", r);
        }
        Err(e) => t.line("File::open a.txt", errname(&e)),
    }
    match File::create(t.p("w.txt")) {
        Ok(mut f) => {
            t.line("File::create w.txt", "ok".into());
            let r = read_n(&mut f, 8);
            t.bytes("read w.txt (write-only) 8", r);
        }
        Err(e) => t.line("File::create w.txt", errname(&e)),
    }

    // seek, write past the end, set_len
    match OpenOptions::new().read(true).write(true).open(t.p("a.txt")) {
        Ok(mut f) => {
            t.line("open a.txt read write", "ok".into());
            let r = f.seek(SeekFrom::Start(6));
            t.num("seek a.txt Start(6)", r);
            let r = f.write_all(b"WORLD");
            t.unit("write_all a.txt \"WORLD\"", r);
            let r = f.seek(SeekFrom::Current(0));
            t.num("seek a.txt Current(0)", r);
            let r = f.seek(SeekFrom::End(-5));
            t.num("seek a.txt End(-5)", r);
            let r = read_n(&mut f, 3);
            t.bytes("read a.txt 3", r);
            let r = f.seek(SeekFrom::Current(-100));
            t.num("seek a.txt Current(-100)", r);
            let r = f.stream_position();
            t.num("stream_position a.txt", r);
            let r = f.seek(SeekFrom::End(5));
            t.num("seek a.txt End(5)", r);
            let r = f.write_all(b"!");
            t.unit("write_all a.txt \"!\"", r);
            let r = f.metadata();
            t.meta("File::metadata a.txt", r);
            let r = fs::read(t.p("a.txt"));
            t.bytes("fs::read a.txt", r);
            let r = f.set_len(20);
            t.unit("set_len a.txt 20", r);
            let r = f.metadata();
            t.meta("File::metadata a.txt", r);
            let r = f.set_len(5);
            t.unit("set_len a.txt 5", r);
            let r = f.set_len(8);
            t.unit("set_len a.txt 8", r);
            let r = fs::read(t.p("a.txt"));
            t.bytes("fs::read a.txt", r);
            let r = f.stream_position();
            t.num("stream_position a.txt (set_len leaves it)", r);
            let r = f.sync_all();
            t.unit("sync_all a.txt", r);
            let r = f.sync_data();
            t.unit("sync_data a.txt", r);
            let r = f.metadata().and_then(|m| m.modified()).map(|_| ());
            t.unit("modified a.txt", r);
        }
        Err(e) => t.line("open a.txt read write", errname(&e)),
    }
    match OpenOptions::new().write(true).truncate(true).open(t.p("a.txt")) {
        Ok(mut f) => {
            t.line("open a.txt write truncate", "ok".into());
            let r = f.metadata();
            t.meta("File::metadata a.txt", r);
            let r = f.write_all(b"hello world");
            t.unit("write_all a.txt \"hello world\"", r);
        }
        Err(e) => t.line("open a.txt write truncate", errname(&e)),
    }
    let r = fs::write(t.p("missing/x"), b"x");
    t.unit("fs::write missing/x", r);
    let r = fs::metadata(t.p("missing"));
    t.meta("metadata missing", r);
    let r = File::open(t.p("a.txt/x")).map(|_| ());
    t.unit("File::open a.txt/x", r);

    // directories
    let r = fs::create_dir_all(t.p("a/b/c"));
    t.unit("create_dir_all a/b/c", r);
    let r = fs::create_dir_all(t.p("a/b/c"));
    t.unit("create_dir_all a/b/c", r);
    let r = fs::create_dir_all(t.p("a.txt/x"));
    t.unit("create_dir_all a.txt/x", r);
    let r = fs::create_dir(t.p("a"));
    t.unit("create_dir a", r);
    let r = fs::write(t.p("a/b/f1"), b"one");
    t.unit("fs::write a/b/f1", r);
    let r = fs::write(t.p("a/b/f2"), b"two");
    t.unit("fs::write a/b/f2", r);
    let r = fs::create_dir(t.p("empty"));
    t.unit("create_dir empty", r);
    t.ls(".");
    t.ls("a/b");
    t.ls("a.txt");
    let r = fs::metadata(t.p("a"));
    t.meta("metadata a", r);

    // rename
    let r = fs::rename(t.p("w.txt"), t.p("a/b/f1"));
    t.unit("rename w.txt a/b/f1 (over a file)", r);
    let r = fs::read(t.p("a/b/f1"));
    t.bytes("fs::read a/b/f1", r);
    let r = fs::rename(t.p("a.txt"), t.p("b.txt"));
    t.unit("rename a.txt b.txt", r);
    let r = fs::rename(t.p("a/b/c"), t.p("c2"));
    t.unit("rename a/b/c c2 (a dir)", r);
    let r = fs::rename(t.p("c2"), t.p("empty"));
    t.unit("rename c2 empty (over an empty dir)", r);
    let r = fs::rename(t.p("empty"), t.p("a"));
    t.unit("rename empty a (over a non-empty dir)", r);
    let r = fs::rename(t.p("b.txt"), t.p("a"));
    t.unit("rename b.txt a (file over a dir)", r);
    let r = fs::rename(t.p("a"), t.p("b.txt"));
    t.unit("rename a b.txt (dir over a file)", r);
    let r = fs::rename(t.p("a"), t.p("a/b/inside"));
    t.unit("rename a a/b/inside (into itself)", r);
    let r = fs::rename(t.p("missing"), t.p("x"));
    t.unit("rename missing x", r);
    t.ls(".");

    // symlinks
    #[allow(deprecated)]
    let r = fs::soft_link("b.txt", t.p("lnk"));
    t.unit("soft_link b.txt lnk", r);
    #[allow(deprecated)]
    let r = fs::soft_link("nowhere", t.p("dangling"));
    t.unit("soft_link nowhere dangling", r);
    #[allow(deprecated)]
    let r = fs::soft_link("b.txt", t.p("lnk"));
    t.unit("soft_link b.txt lnk (exists)", r);
    let r = fs::read_link(t.p("lnk")).map(|p| p.to_string_lossy().into_owned().into_bytes());
    t.bytes("read_link lnk", r);
    let r = fs::read_link(t.p("b.txt")).map(|p| p.to_string_lossy().into_owned().into_bytes());
    t.bytes("read_link b.txt (not a link)", r);
    let r = fs::symlink_metadata(t.p("lnk"));
    t.meta("symlink_metadata lnk", r);
    let r = fs::metadata(t.p("lnk"));
    t.meta("metadata lnk", r);
    let r = fs::read(t.p("lnk"));
    t.bytes("fs::read lnk", r);
    let r = fs::read(t.p("dangling"));
    t.bytes("fs::read dangling", r);
    let r = fs::symlink_metadata(t.p("dangling"));
    t.meta("symlink_metadata dangling", r);
    t.ls(".");

    // hard links
    let r = fs::hard_link(t.p("b.txt"), t.p("h.txt"));
    t.unit("hard_link b.txt h.txt", r);
    let r = fs::hard_link(t.p("a"), t.p("a.hard"));
    t.unit("hard_link a a.hard (a dir)", r);
    match OpenOptions::new().append(true).open(t.p("h.txt")) {
        Ok(mut f) => {
            t.nlink("fd_filestat_get h.txt", &f);
            let r = f.write_all(b"!");
            t.unit("write_all h.txt \"!\"", r);
        }
        Err(e) => t.line("open h.txt append", errname(&e)),
    }
    let r = fs::read(t.p("b.txt"));
    t.bytes("fs::read b.txt", r);
    let r = fs::copy(t.p("b.txt"), t.p("copy.txt"));
    t.num("fs::copy b.txt copy.txt", r);
    let r = fs::read(t.p("copy.txt"));
    t.bytes("fs::read copy.txt", r);
    if let Ok(f) = File::open(t.p("copy.txt")) {
        t.nlink("fd_filestat_get copy.txt", &f);
    }
    let r = fs::canonicalize(t.p("lnk")).map(|_| ());
    t.unit("canonicalize lnk", r);

    // removal
    let r = fs::remove_file(t.p("h.txt"));
    t.unit("remove_file h.txt", r);
    if let Ok(f) = File::open(t.p("b.txt")) {
        t.nlink("fd_filestat_get b.txt", &f);
    }
    let r = fs::remove_file(t.p("missing"));
    t.unit("remove_file missing", r);
    let r = fs::remove_file(t.p("a"));
    t.unit("remove_file a (a dir)", r);
    let r = fs::remove_dir(t.p("a"));
    t.unit("remove_dir a (not empty)", r);
    let r = fs::remove_dir(t.p("b.txt"));
    t.unit("remove_dir b.txt (a file)", r);
    let r = fs::remove_file(t.p("lnk"));
    t.unit("remove_file lnk", r);
    let r = fs::metadata(t.p("b.txt"));
    t.meta("metadata b.txt", r);
    let r = fs::remove_dir(t.p("empty/c"));
    t.unit("remove_dir empty/c", r);
    let r = fs::remove_dir_all(t.p("a"));
    t.unit("remove_dir_all a", r);
    t.ls(".");
    for name in ["b.txt", "copy.txt", "dangling"] {
        let r = fs::remove_file(t.p(name));
        t.unit(&format!("remove_file {}", name), r);
    }
    let r = fs::remove_dir(t.p("empty"));
    t.unit("remove_dir empty", r);
    t.ls(".");
    let r = fs::remove_dir(t.p("."));
    t.unit("remove_dir fsops_rs.d", r);
    let _ = writeln!(t.out, "done");
    let _ = t.out.flush();
}
