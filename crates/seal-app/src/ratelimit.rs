//! Sign-in rate limits, per account and per client address, in memory (GCRA from the
//! `governor` crate). A refusal says how long to wait.

use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

pub struct LoginLimiter {
    per_account: DefaultKeyedRateLimiter<String>,
    per_address: DefaultKeyedRateLimiter<String>,
}

impl LoginLimiter {
    pub fn new(per_account_per_minute: u32, per_address_per_minute: u32) -> Self {
        let quota =
            |n: u32| Quota::per_minute(NonZeroU32::new(n.max(1)).unwrap_or(NonZeroU32::MIN));
        Self {
            per_account: RateLimiter::keyed(quota(per_account_per_minute)),
            per_address: RateLimiter::keyed(quota(per_address_per_minute)),
        }
    }

    /// Counts one attempt from `address`, and for `account` when known; `Err` holds the
    /// seconds to wait (at least 1) when either limit is exhausted.
    pub fn check(&self, account: Option<&str>, address: &str) -> Result<(), u64> {
        let clock = DefaultClock::default();
        let wait = |not_until: governor::NotUntil<_>| {
            let d: Duration = not_until.wait_time_from(clock.now());
            d.as_secs().max(1)
        };
        self.per_address
            .check_key(&address.to_owned())
            .map_err(wait)?;
        if let Some(account) = account {
            self.per_account
                .check_key(&account.to_owned())
                .map_err(wait)?;
        }
        if self.per_account.len() > 100_000 {
            self.per_account.retain_recent();
        }
        if self.per_address.len() > 100_000 {
            self.per_address.retain_recent();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_account_and_address() {
        let limiter = LoginLimiter::new(3, 5);
        for _ in 0..3 {
            assert!(limiter.check(Some("acme|138"), "10.0.0.1").is_ok());
        }
        assert!(
            limiter.check(Some("acme|138"), "10.0.0.2").is_err(),
            "account exhausted"
        );
        assert!(limiter.check(Some("acme|139"), "10.0.0.1").is_ok());
        assert!(limiter.check(Some("acme|140"), "10.0.0.1").is_ok());
        let refused = limiter.check(Some("acme|141"), "10.0.0.1");
        assert!(
            matches!(refused, Err(secs) if secs >= 1),
            "address exhausted"
        );
    }
}
