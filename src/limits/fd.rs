//! The process's file-descriptor limit (RLIMIT_NOFILE, getrlimit(2)).
//!
//! Many distributions start services with a soft limit of 1,024 and a much
//! higher hard limit; every HTTP and MLLP connection holds a descriptor, so
//! `serve` raises the soft limit to the hard one before anything is opened,
//! and derives its default connection caps from the result.

/// The soft and hard limits before and after [`raise_nofile`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NofileRaise {
    pub before: u64,
    pub soft: u64,
    pub hard: u64,
}

/// Raises the soft limit to the hard limit. Errors (a platform without the
/// limit, a refused setrlimit) leave the limit as it was, and are reported.
pub fn raise_nofile() -> std::io::Result<NofileRaise> {
    let (before, hard) = rlimit::Resource::NOFILE.get()?;
    let soft = rlimit::increase_nofile_limit(hard)?;
    Ok(NofileRaise { before, soft, hard })
}

/// The soft limit now (a large value where it cannot be read: nothing is
/// derived from a limit that does not exist).
pub fn soft_limit() -> u64 {
    rlimit::Resource::NOFILE
        .get()
        .map_or(u64::from(u32::MAX), |(soft, _)| soft)
}
