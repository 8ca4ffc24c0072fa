//! Tracing set-up: human-readable logs by default, JSON lines for machines.
//!
//! JSON lines are flat, as log pipelines take them: `timestamp`, `level`, `target`, `message`,
//! the fields of the request's span (`request_id`, `client_address`) and of the event
//! (`elapsed_ms` a number), all at the top level of one object per line. Human logs have ANSI
//! colours only on a terminal, and never with `NO_COLOR` set (https://no-color.org).
//!
//! Logging never blocks nor fails a request: lines go through a bounded queue to a thread of
//! their own that writes them to stderr. A full queue (stderr stuck) or a failed write (a full
//! disk) drops the line; drops are counted (`bridge_log_lines_dropped_total`) and `/readyz`
//! says so while they last.

use std::fmt;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender, TrySendError};
use std::sync::OnceLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber};
use tracing_subscriber::fmt::format::{JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::EnvFilter;

use crate::adapters::config::LogFormat;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,actix_server=warn,r2d2=warn"));
    let colour = use_colour(
        std::io::stderr().is_terminal(),
        std::env::var_os("NO_COLOR").as_deref(),
    );
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(LogQueue::start());
    // A second init (tests, or the CLI after a failed start) keeps the first subscriber.
    let _ = match format {
        LogFormat::Human => builder
            .with_target(false)
            .with_ansi(colour)
            .compact()
            .try_init(),
        LogFormat::Json => builder
            .with_ansi(false)
            .fmt_fields(JsonFields::new())
            .event_format(FlatJson)
            .try_init(),
    };
}

/// Lines waiting for the writer thread; more are dropped rather than waited for.
const QUEUE_LINES: usize = 16_384;
/// How long after the last dropped line `/readyz` still reports it.
const REPORT_FOR: Duration = Duration::from_secs(60);

/// Lines dropped so far, and when the last one was (Unix seconds; 0 = never).
static DROPPED: AtomicU64 = AtomicU64::new(0);
static LAST_DROP: AtomicU64 = AtomicU64::new(0);
/// Lines handed to the writer thread, and lines it is done with (written or dropped).
static QUEUED: AtomicU64 = AtomicU64::new(0);
static DONE: AtomicU64 = AtomicU64::new(0);

/// Waits (up to `within`) for the writer thread to finish the lines queued so far: for the
/// last lines before the process exits.
pub fn flush(within: Duration) {
    let queued = QUEUED.load(Ordering::Acquire);
    let deadline = std::time::Instant::now() + within;
    while DONE.load(Ordering::Acquire) < queued && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn dropped_line() {
    DROPPED.fetch_add(1, Ordering::Relaxed);
    LAST_DROP.store(unix_now(), Ordering::Relaxed);
}

/// Log lines dropped since start (stderr stuck or not writable).
pub fn dropped_lines() -> u64 {
    DROPPED.load(Ordering::Relaxed)
}

/// Why the log is losing lines now (a line dropped within the last minute), for `/readyz`.
pub fn log_trouble() -> Option<String> {
    let last = LAST_DROP.load(Ordering::Relaxed);
    (last != 0 && unix_now().saturating_sub(last) < REPORT_FOR.as_secs()).then(|| {
        format!(
            "log lines are being dropped: stderr cannot be written (full disk, or nobody reads \
             it); {} dropped since start",
            dropped_lines()
        )
    })
}

/// The queue in front of the writer thread (one per process, started on first use).
#[derive(Clone)]
struct LogQueue(SyncSender<Vec<u8>>);

impl LogQueue {
    fn start() -> LogQueue {
        static QUEUE: OnceLock<LogQueue> = OnceLock::new();
        QUEUE
            .get_or_init(|| {
                let (sender, lines) = sync_channel::<Vec<u8>>(QUEUE_LINES);
                let spawned =
                    std::thread::Builder::new()
                        .name("log-writer".into())
                        .spawn(move || {
                            let stderr = std::io::stderr();
                            for line in lines {
                                if stderr.lock().write_all(&line).is_err() {
                                    dropped_line();
                                }
                                DONE.fetch_add(1, Ordering::Release);
                            }
                        });
                if spawned.is_err() {
                    eprintln!("cannot start the log writer thread: logs are dropped");
                }
                LogQueue(sender)
            })
            .clone()
    }
}

/// One event's text, handed to the queue when the formatter is done with it.
struct QueuedLine {
    queue: SyncSender<Vec<u8>>,
    line: Vec<u8>,
}

impl Write for QueuedLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.line.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for QueuedLine {
    fn drop(&mut self) {
        if self.line.is_empty() {
            return;
        }
        match self.queue.try_send(std::mem::take(&mut self.line)) {
            Ok(()) => {
                QUEUED.fetch_add(1, Ordering::Release);
            }
            Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) => dropped_line(),
        }
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogQueue {
    type Writer = QueuedLine;

    fn make_writer(&'a self) -> QueuedLine {
        QueuedLine {
            queue: self.0.clone(),
            line: Vec::with_capacity(256),
        }
    }
}

/// Colours only for a person at a terminal: never into a pipe or a file, never with `NO_COLOR`
/// set to anything but the empty string.
fn use_colour(stderr_is_terminal: bool, no_color: Option<&std::ffi::OsStr>) -> bool {
    stderr_is_terminal && no_color.is_none_or(|value| value.is_empty())
}

/// One flat JSON object per event.
struct FlatJson;

impl<S, N> FormatEvent<S, N> for FlatJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let meta = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            chrono::Utc::now()
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
                .into(),
        );
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("target".into(), meta.target().into());
        // The spans' fields (outermost first), then the event's own, which win on a clash.
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let fields = extensions
                    .get::<FormattedFields<N>>()
                    .and_then(|f| serde_json::from_str::<Map<String, Value>>(&f.fields).ok());
                line.extend(fields.unwrap_or_default());
            }
        }
        event.record(&mut Fields(&mut line));
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// Collects an event's fields with their JSON types (numbers stay numbers).
struct Fields<'a>(&'a mut Map<String, Value>);

impl Visit for Fields<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), format!("{value:?}").into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colours_only_on_a_terminal_without_no_color() {
        use std::ffi::OsStr;
        assert!(use_colour(true, None));
        assert!(use_colour(true, Some(OsStr::new(""))));
        assert!(!use_colour(true, Some(OsStr::new("1"))));
        assert!(!use_colour(false, None));
    }
}
