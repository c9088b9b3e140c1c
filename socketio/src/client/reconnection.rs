//! How a client reconnects: attempts, backoff and jitter.

use std::time::Duration;

/// How the client reconnects after losing its connection.
///
/// The delay before attempt `n` is `delay · 2ⁿ⁻¹`, at most `delay_max`, then moved by up to
/// `randomization` times itself in either direction.
///
/// ```
/// use std::time::Duration;
/// use socketio::client::Reconnection;
///
/// let fast = Reconnection {
///     delay: Duration::from_millis(200),
///     delay_max: Duration::from_secs(1),
///     ..Reconnection::default()
/// };
/// assert_eq!(fast.attempts, 0); // forever
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Reconnection {
    /// Whether the client reconnects at all (default `true`).
    pub enabled: bool,
    /// How many attempts before giving up; 0 tries forever (the default).
    pub attempts: u32,
    /// The delay before the first attempt (default 1 s).
    pub delay: Duration,
    /// The longest delay (default 5 s).
    pub delay_max: Duration,
    /// Jitter as a fraction of the delay, 0 to 1 (default 0.5).
    pub randomization: f64,
}

impl Default for Reconnection {
    fn default() -> Self {
        Reconnection {
            enabled: true,
            attempts: 0,
            delay: Duration::from_secs(1),
            delay_max: Duration::from_secs(5),
            randomization: 0.5,
        }
    }
}

impl Reconnection {
    /// The delay before attempt `attempt` (counting from 1), with `random` in `0..1`.
    pub(crate) fn delay_for(&self, attempt: u32, random: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(31);
        let base = self
            .delay
            .saturating_mul(1 << exponent)
            .min(self.delay_max)
            .as_secs_f64();
        let factor = self.randomization.clamp(0.0, 1.0);
        let jittered = base + base * factor * (2.0 * random - 1.0);
        Duration::from_secs_f64(jittered.max(0.0))
    }
}

pub(crate) type AttemptFn = dyn Fn(u32) + Send + Sync;
pub(crate) type FailedFn = dyn Fn() + Send + Sync;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_max_with_proportional_jitter() {
        let r = Reconnection {
            delay: Duration::from_millis(100),
            delay_max: Duration::from_millis(1000),
            randomization: 0.5,
            ..Reconnection::default()
        };
        assert_eq!(r.delay_for(1, 0.5), Duration::from_millis(100));
        assert_eq!(r.delay_for(3, 0.5), Duration::from_millis(400));
        assert_eq!(r.delay_for(10, 0.5), Duration::from_millis(1000));
        assert_eq!(r.delay_for(1, 0.0), Duration::from_millis(50));
        assert_eq!(r.delay_for(10, 1.0), Duration::from_millis(1500));
        assert_eq!(r.delay_for(u32::MAX, 0.5), Duration::from_millis(1000));
    }
}
