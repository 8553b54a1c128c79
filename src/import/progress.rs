//! Progress on stderr: a bar with resources/s ("/s") and ETA on a terminal, else a plain
//! line every few seconds (logs and CI capture stay readable). Progress is
//! counted in input bytes (known up front from the file sizes, so the ETA needs
//! no first pass over the data) and shows resources stored and refused.

use std::io::IsTerminal;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ProgressMode {
    /// A bar when stderr is a terminal, else plain lines.
    #[default]
    Auto,
    /// Always the bar.
    Bar,
    /// Always plain lines.
    Lines,
    /// Nothing until the summary.
    Off,
}

pub struct Progress {
    bar: Option<ProgressBar>,
    lines: bool,
    started: Instant,
    total: u64,
    done: AtomicU64,
    stored: AtomicU64,
    refused: AtomicU64,
}

impl Progress {
    pub fn new(mode: ProgressMode, total_bytes: u64, every: Duration) -> Arc<Self> {
        let tty = std::io::stderr().is_terminal();
        let bar = matches!(
            (mode, tty),
            (ProgressMode::Bar, _) | (ProgressMode::Auto, true)
        );
        let lines = matches!(
            (mode, tty),
            (ProgressMode::Lines, _) | (ProgressMode::Auto, false)
        );
        let bar = bar.then(|| {
            let b = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
            let style = ProgressStyle::with_template(
                "{elapsed_precise} [{bar:20}] {percent:>3}% {msg} ETA {eta}",
            )
            .map(|s| s.progress_chars("=> "))
            .unwrap_or_else(|_| ProgressStyle::default_bar());
            b.set_style(style);
            b.enable_steady_tick(Duration::from_millis(250));
            b
        });
        let p = Arc::new(Self {
            bar,
            lines,
            started: Instant::now(),
            total: total_bytes,
            done: AtomicU64::new(0),
            stored: AtomicU64::new(0),
            refused: AtomicU64::new(0),
        });
        if lines {
            let weak = Arc::downgrade(&p);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    match weak.upgrade() {
                        Some(p) => eprintln!("{}", p.line()),
                        None => break,
                    }
                }
            });
        }
        p
    }

    fn rate(&self) -> f64 {
        let secs = self.started.elapsed().as_secs_f64().max(0.001);
        self.stored.load(Ordering::Relaxed) as f64 / secs
    }

    /// Stored, rate and refused; `per` names the rate's unit ("/s" keeps the bar
    /// within 80 columns).
    fn message(&self, per: &str) -> String {
        format!(
            "{} stored ({:.0}{per}), {} refused",
            self.stored.load(Ordering::Relaxed),
            self.rate(),
            self.refused.load(Ordering::Relaxed)
        )
    }

    /// One plain progress line.
    fn line(&self) -> String {
        let done = self.done.load(Ordering::Relaxed);
        let pct = if self.total == 0 {
            100.0
        } else {
            100.0 * done as f64 / self.total as f64
        };
        let elapsed = self.started.elapsed().as_secs_f64();
        let eta = if done == 0 {
            "unknown".to_owned()
        } else {
            let left = elapsed * (self.total.saturating_sub(done)) as f64 / done as f64;
            format!("{left:.0} s")
        };
        format!(
            "import: {pct:.0}% of the input, {}, {elapsed:.0} s elapsed, ETA {eta}",
            self.message(" resources/s")
        )
    }

    /// A Bundle is done: `bytes` of input, `stored` and `refused` resources.
    pub fn advance(&self, bytes: u64, stored: u64, refused: u64) {
        self.done.fetch_add(bytes, Ordering::Relaxed);
        self.stored.fetch_add(stored, Ordering::Relaxed);
        self.refused.fetch_add(refused, Ordering::Relaxed);
        if let Some(b) = &self.bar {
            b.set_position(self.done.load(Ordering::Relaxed));
            b.set_message(self.message("/s"));
        }
    }

    pub fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
        if self.lines {
            eprintln!("{}", self.line());
        }
    }
}
