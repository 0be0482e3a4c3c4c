//! The session's one way of waiting. Every loop of the monitor that waits (the prompt, a
//! running command, the tty relay, a nested `su` session) polls through [`Waiter`], and what
//! woke it is a [`Wake`]. The grant's re-check is one of the wake-up reasons, on a deadline
//! kept by [`GrantClock`]: it is due one second after the last check whatever else woke the
//! loop in between, so no stream of keys, output, window changes or execs can starve it.
#![forbid(unsafe_code)]

use std::os::fd::BorrowedFd;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

/// How often the grant (and an SSH certificate's validity) is checked while a session lives.
pub(crate) const GRANT_CHECK_EVERY: Duration = Duration::from_secs(1);

/// When the grant is next due for a check.
#[derive(Debug, Clone, Copy)]
pub struct GrantClock {
    next: Instant,
}

impl GrantClock {
    /// A clock whose first check is due a second from now (the grant was just read).
    pub fn new() -> GrantClock {
        GrantClock { next: Instant::now() + GRANT_CHECK_EVERY }
    }

    pub fn due(&self) -> bool {
        Instant::now() >= self.next
    }

    /// The grant was checked now: the next check is due a second later.
    pub fn checked(&mut self) {
        self.next = Instant::now() + GRANT_CHECK_EVERY;
    }

    fn next(&self) -> Instant {
        self.next
    }
}

impl Default for GrantClock {
    fn default() -> Self {
        GrantClock::new()
    }
}

/// What a descriptor given to the waiter stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Source {
    /// The monitor's signalfd (Ctrl-C, window changes, hang-up, children).
    Signals,
    /// A jail's status pipe: its init reports the command's end.
    JailReport,
    /// The operator typed (relayed to a command's pty).
    Input,
    /// A command's pty has output for the operator.
    Output,
    /// The exec watch of stage N: an exec in its jail waits for an answer.
    Exec(usize),
    /// The REPL sent a message.
    Repl,
}

/// Why a wait returned. A source that is ready carries whether its other end hung up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Wake {
    Ready {
        source: Source,
        hung_up: bool,
    },
    /// The grant is due for its check.
    GrantDue,
    /// The caller's own deadline (a command time limit) has passed.
    Deadline,
}

/// The descriptors of one wait, each with what it stands for.
#[derive(Default)]
pub(crate) struct Waiter<'fd> {
    fds: Vec<PollFd<'fd>>,
    sources: Vec<Source>,
}

impl<'fd> Waiter<'fd> {
    pub(crate) fn new() -> Waiter<'fd> {
        Waiter::default()
    }

    pub(crate) fn watch(&mut self, fd: BorrowedFd<'fd>, source: Source) {
        self.fds.push(PollFd::new(fd, PollFlags::POLLIN));
        self.sources.push(source);
    }

    /// Waits until a source is ready, the grant is due, or `deadline` passes; returns every
    /// reason that holds (the grant's, when due, whatever else is ready too).
    pub(crate) fn wait(mut self, clock: &GrantClock, deadline: Option<Instant>) -> Vec<Wake> {
        let until = deadline.map_or(clock.next(), |d| d.min(clock.next()));
        let left = until.saturating_duration_since(Instant::now());
        // Rounded up, so a wait never returns just before its deadline only to wait again.
        let millis = left.as_micros().div_ceil(1000).min(u128::from(u16::MAX)) as u16;
        let mut wakes = Vec::new();
        if let Ok(n) = poll(&mut self.fds, PollTimeout::from(millis)) {
            if n > 0 {
                for (fd, source) in self.fds.iter().zip(&self.sources) {
                    let revents = fd.revents().unwrap_or(PollFlags::empty());
                    if !revents.is_empty() {
                        let hung_up = revents.contains(PollFlags::POLLHUP);
                        wakes.push(Wake::Ready { source: *source, hung_up });
                    }
                }
            }
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            wakes.push(Wake::Deadline);
        }
        if clock.due() {
            wakes.push(Wake::GrantDue);
        }
        wakes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn a_ready_source_does_not_hide_a_due_grant() {
        let (r, w) = nix::unistd::pipe().expect("pipe");
        nix::unistd::write(&w, b"x").expect("write");
        let mut clock = GrantClock::new();
        clock.next = Instant::now() - Duration::from_millis(1);
        let mut waiter = Waiter::new();
        waiter.watch(r.as_fd(), Source::Repl);
        let wakes = waiter.wait(&clock, None);
        assert!(wakes.contains(&Wake::Ready { source: Source::Repl, hung_up: false }), "{wakes:?}");
        assert!(wakes.contains(&Wake::GrantDue), "{wakes:?}");
    }

    #[test]
    fn a_wait_with_nothing_ready_ends_when_the_grant_is_due() {
        let (r, _w) = nix::unistd::pipe().expect("pipe");
        let mut clock = GrantClock::new();
        clock.next = Instant::now() + Duration::from_millis(30);
        let started = Instant::now();
        let mut waiter = Waiter::new();
        waiter.watch(r.as_fd(), Source::Signals);
        assert_eq!(waiter.wait(&clock, None), [Wake::GrantDue]);
        assert!(started.elapsed() >= Duration::from_millis(30));
        clock.checked();
        assert!(!clock.due());
    }

    #[test]
    fn an_earlier_deadline_wakes_first_and_says_so() {
        let clock = GrantClock::new();
        let deadline = Instant::now() + Duration::from_millis(20);
        let wakes = Waiter::new().wait(&clock, Some(deadline));
        assert_eq!(wakes, [Wake::Deadline]);
    }
}
