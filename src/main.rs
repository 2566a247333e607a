// The library forbids unsafe code outright; the binary allows it in one place: the declaration of glibc's
// `mallopt` below (see `memory`).
#![deny(unsafe_code)]

fn main() -> std::process::ExitCode {
    layer2::cli::main_with(memory::one_arena)
}

/// The allocator's arenas. glibc gives each new thread its own arena (up to eight per core) and keeps what
/// is freed in it for that arena's next use. This server's work hops between the runtime's workers, the
/// blocking pool (argon2, statistics) and one thread per SQLite connection, so a heavy request (an export at
/// 25,000 participants) left tens of MB behind in each arena it touched: the resident size climbed to
/// 140 MiB over one full export, and never came back. With one arena it peaks near 80 MiB (BENCHMARKS.md,
/// "Memory"). Per-thread caches (tcache) still serve most small allocations without taking its lock.
/// Only for the server (`serve`, `demo`): `analyze` read its files about 15 ms (20 %) slower with one.
/// `MALLOC_ARENA_MAX` in the environment still wins: it is read before `main`, and this only lowers a
/// limit nobody set.
mod memory {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    pub fn one_arena() {
        use std::ffi::c_int;
        /// glibc's `M_ARENA_MAX` (malloc.h).
        const M_ARENA_MAX: c_int = -8;
        #[allow(unsafe_code)] // a foreign declaration; the call itself is safe (see above)
        unsafe extern "C" {
            /// Sets an allocator parameter; only reads its two integers (glibc `mallopt(3)`).
            safe fn mallopt(param: c_int, value: c_int) -> c_int;
        }
        if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
            mallopt(M_ARENA_MAX, 1);
        }
    }

    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    pub fn one_arena() {}
}
