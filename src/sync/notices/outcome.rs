//! What one delivery pass to a channel came to, whatever the channel's kind.

pub enum Outcome {
    Delivered {
        attempts: u32,
        status: String,
    },
    /// Worth another pass later (a 5xx, a timeout).
    Retry {
        attempts: u32,
        why: String,
    },
    Failed {
        attempts: u32,
        why: String,
    },
    /// The channel's settings cannot be used (no URL, an unreadable secret): nothing sent.
    Unusable(String),
}
