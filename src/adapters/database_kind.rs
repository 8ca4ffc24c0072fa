//! Which database a URL names, decided once from its scheme: everything that differs between
//! the two matches on it instead of looking at the URL again.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseKind {
    Postgres,
    /// A file (`sqlite://path`, `sqlite:path` or a plain path).
    Sqlite,
}

impl DatabaseKind {
    pub fn of(url: &str) -> DatabaseKind {
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            DatabaseKind::Postgres
        } else {
            DatabaseKind::Sqlite
        }
    }
}
