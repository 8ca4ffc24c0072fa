//! The fakes' answer times. A runtime timer fires on its next millisecond tick (and wakes its
//! thread a little later again), so a 5 ms answer would take 6 ms or more: a real server's
//! answer time has no such grain, and benchmarks divide by the latency set. The wait runs on a
//! thread of its own, whose sleep is as precise as the operating system's.

use std::time::Instant;

/// Waits until `deadline`, to within the operating system's sleep precision.
pub async fn wait_until(deadline: Instant) {
    if deadline <= Instant::now() {
        return;
    }
    let (done, waited) = tokio::sync::oneshot::channel();
    std::thread::spawn(move || {
        std::thread::sleep(deadline.saturating_duration_since(Instant::now()));
        let _ = done.send(());
    });
    // A dropped sender (the thread could not run) ends the wait as well.
    let _ = waited.await;
}
