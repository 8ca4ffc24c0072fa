//! The `process_*` metrics every Prometheus client library exports (resident memory, CPU
//! seconds, open file descriptors, start time), read from Linux's `/proc` at scrape time. On
//! other systems they are left out.

use std::fs;

/// The process as `/proc` shows it at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: f64,
    pub resident_memory_bytes: u64,
    pub virtual_memory_bytes: u64,
    pub open_fds: u64,
    pub max_fds: Option<u64>,
    pub start_time_seconds: f64,
}

pub fn read() -> Option<ProcessStats> {
    let stat = fs::read_to_string("/proc/self/stat").ok()?;
    let boot_time = fs::read_to_string("/proc/stat").ok()?;
    let limits = fs::read_to_string("/proc/self/limits").unwrap_or_default();
    let open_fds = fs::read_dir("/proc/self/fd").ok()?.count() as u64;
    let (ticks, page) = system_units();
    from_proc(&stat, &boot_time, &limits, open_fds, ticks, page)
}

/// Clock ticks per second and the page size.
fn system_units() -> (f64, u64) {
    // SAFETY: sysconf reads a constant of the running system; it has no preconditions.
    let (ticks, page) = unsafe {
        (
            libc::sysconf(libc::_SC_CLK_TCK),
            libc::sysconf(libc::_SC_PAGESIZE),
        )
    };
    (
        if ticks > 0 { ticks as f64 } else { 100.0 },
        u64::try_from(page).unwrap_or(4096),
    )
}

fn from_proc(
    stat: &str,
    system_stat: &str,
    limits: &str,
    open_fds: u64,
    ticks_per_second: f64,
    page_size: u64,
) -> Option<ProcessStats> {
    // The command name is in parentheses and may hold spaces: count fields after it.
    // After it come field 3 (state) onwards, so field N is at index N - 3.
    let fields: Vec<&str> = stat[stat.rfind(')')? + 1..].split_whitespace().collect();
    let field = |n: usize| fields.get(n - 3)?.parse::<u64>().ok();
    let (utime, stime, start_ticks) = (field(14)?, field(15)?, field(22)?);
    let (virtual_bytes, resident_pages) = (field(23)?, field(24)?);
    let boot_time: u64 = system_stat
        .lines()
        .find_map(|line| line.strip_prefix("btime "))?
        .trim()
        .parse()
        .ok()?;
    let max_fds = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))
        .and_then(|line| line.split_whitespace().nth(3)?.parse().ok());
    Some(ProcessStats {
        cpu_seconds: (utime + stime) as f64 / ticks_per_second,
        resident_memory_bytes: resident_pages * page_size,
        virtual_memory_bytes: virtual_bytes,
        open_fds,
        max_fds,
        start_time_seconds: boot_time as f64 + start_ticks as f64 / ticks_per_second,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_read_after_a_command_name_with_spaces() {
        let stat = "4242 (kaspersky msp) S 1 4242 4242 0 -1 4194560 1500 0 0 0 250 50 0 0 20 0 \
                    9 0 123400 987654321 2048 18446744073709551615";
        let system = "cpu  1 2 3\nbtime 1700000000\nprocesses 9\n";
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
                      Max open files            1024                 524288               files\n";
        let stats = from_proc(stat, system, limits, 17, 100.0, 4096).unwrap();
        assert_eq!(
            stats,
            ProcessStats {
                cpu_seconds: 3.0,
                resident_memory_bytes: 2048 * 4096,
                virtual_memory_bytes: 987_654_321,
                open_fds: 17,
                max_fds: Some(1024),
                start_time_seconds: 1_700_001_234.0,
            }
        );
        assert_eq!(from_proc("garbage", system, limits, 0, 100.0, 4096), None);
    }

    #[test]
    fn this_process_is_read_on_linux() {
        if cfg!(target_os = "linux") {
            let stats = read().expect("/proc is readable");
            assert!(stats.resident_memory_bytes > 0 && stats.open_fds > 0);
            assert!(stats.start_time_seconds > 1_600_000_000.0);
        }
    }
}
