//! Webhooks and filing (备案): the kinds of events an organisation's endpoints subscribe
//! to, the filing-target marker, the rules an endpoint URL must meet, which addresses
//! count as private, the retry schedule, and the Standard Webhooks message id.
//!
//! Everything here is pure: randomness and the clock come in as parameters; signing
//! (HMAC-SHA256) and sending live in `seal-app`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The kind of an event sent to webhook endpoints. The keys are stable: they are stored
/// with endpoints and events and sent as the payload's `type`. Later kinds (`stamp.*`,
/// `alarm.*`) are added as new variants with new keys; existing keys never change.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum EventKind {
    /// A seal-use application was filed.
    ApplicationSubmitted,
    /// An application was approved or rejected.
    ApplicationDecided,
    /// A grant (uses, window, device) was issued after approval.
    GrantIssued,
    /// A grant was revoked.
    GrantRevoked,
    /// A seal was registered.
    SealCreated,
    /// A seal's status changed (in use, suspended, lost, destroyed …).
    SealStatusChanged,
    /// An approval step has waited too long.
    ApprovalReminder,
    /// A seal was pressed or a print job issued (a stamp record exists).
    StampRecorded,
    /// An alarm was raised.
    AlarmRaised,
    /// An alarm was acknowledged by someone.
    AlarmAcknowledged,
    /// An alarm was resolved.
    AlarmResolved,
    /// A test event sent on request to one endpoint; not subscribable.
    Test,
}

impl EventKind {
    /// The kinds an endpoint can subscribe to, in the order shown to people.
    pub const ALL: [EventKind; 11] = [
        EventKind::ApplicationSubmitted,
        EventKind::ApplicationDecided,
        EventKind::GrantIssued,
        EventKind::GrantRevoked,
        EventKind::SealCreated,
        EventKind::SealStatusChanged,
        EventKind::ApprovalReminder,
        EventKind::StampRecorded,
        EventKind::AlarmRaised,
        EventKind::AlarmAcknowledged,
        EventKind::AlarmResolved,
    ];

    pub const fn key(self) -> &'static str {
        match self {
            EventKind::ApplicationSubmitted => "application.submitted",
            EventKind::ApplicationDecided => "application.decided",
            EventKind::GrantIssued => "grant.issued",
            EventKind::GrantRevoked => "grant.revoked",
            EventKind::SealCreated => "seal.created",
            EventKind::SealStatusChanged => "seal.status_changed",
            EventKind::ApprovalReminder => "approval.reminder",
            EventKind::StampRecorded => "stamp.recorded",
            EventKind::AlarmRaised => "alarm.raised",
            EventKind::AlarmAcknowledged => "alarm.acknowledged",
            EventKind::AlarmResolved => "alarm.resolved",
            EventKind::Test => "webhook.test",
        }
    }

    /// Any kind, the test kind included (for reading stored events).
    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .chain([EventKind::Test])
            .find(|k| k.key() == key)
    }

    /// A kind an endpoint may subscribe to (not the test kind).
    pub fn parse_subscribable(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.key() == key)
    }

    /// Whether this is one of the seal-registry kinds a filing target always receives.
    pub const fn is_seal_event(self) -> bool {
        matches!(self, EventKind::SealCreated | EventKind::SealStatusChanged)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// Who an endpoint files seal events with (备案对象), when it is a filing target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FilingTarget {
    /// The public-security seal registry (公安备案).
    PublicSecurity,
    /// A third-party filing system (第三方).
    ThirdParty,
    /// The unit's own filing system (本单位).
    OwnUnit,
}

impl FilingTarget {
    pub const ALL: [FilingTarget; 3] = [
        FilingTarget::PublicSecurity,
        FilingTarget::ThirdParty,
        FilingTarget::OwnUnit,
    ];

    pub const fn key(self) -> &'static str {
        match self {
            FilingTarget::PublicSecurity => "public_security",
            FilingTarget::ThirdParty => "third_party",
            FilingTarget::OwnUnit => "own_unit",
        }
    }

    pub fn parse(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.key() == key)
    }
}

impl fmt::Display for FilingTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// The subscribed kinds in their canonical form: in [`EventKind::ALL`] order, without
/// duplicates, never the test kind; a filing target always gets the seal events.
pub fn normalise_kinds(kinds: &[EventKind], filing: Option<FilingTarget>) -> Vec<EventKind> {
    EventKind::ALL
        .into_iter()
        .filter(|k| kinds.contains(k) || (filing.is_some() && k.is_seal_event()))
        .collect()
}

/// Why an endpoint URL was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UrlError {
    #[error("the URL is empty")]
    Empty,
    #[error("the URL is longer than {max} characters")]
    TooLong { max: usize },
    #[error("the URL must start with https:// (http:// only where private targets are allowed)")]
    Scheme,
    #[error("the URL has no valid host")]
    Host,
    #[error("the URL's port is not a number from 1 to 65535")]
    Port,
    #[error("the URL must not carry a user name or password")]
    Credentials,
    #[error("the URL must not contain spaces, control characters or a fragment")]
    Characters,
    #[error("the URL names a loopback, private or link-local address")]
    PrivateHost,
}

/// The host part of an endpoint URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Host {
    Name(String),
    Ip(IpAddr),
}

/// A webhook endpoint URL that passed [`EndpointUrl::parse`]: `https://` (or `http://`
/// where private targets are allowed), a host, an optional port, and a path and query.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EndpointUrl {
    text: String,
    host: Host,
    port: Option<u16>,
    https: bool,
}

impl EndpointUrl {
    pub const MAX_LEN: usize = 2048;

    /// Checks the scheme and host. With `allow_private` off the URL must be `https` and
    /// must not name `localhost` or a loopback, private or link-local address literally;
    /// names that resolve to such addresses are refused when sending. With it on (tests,
    /// a filing system on the unit's own network) `http` and any host are accepted.
    pub fn parse(input: &str, allow_private: bool) -> Result<EndpointUrl, UrlError> {
        let text = input.trim();
        if text.is_empty() {
            return Err(UrlError::Empty);
        }
        if text.chars().count() > Self::MAX_LEN {
            return Err(UrlError::TooLong { max: Self::MAX_LEN });
        }
        if text
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == '#' || c == '\\')
        {
            return Err(UrlError::Characters);
        }
        let lower = text.to_ascii_lowercase();
        let (https, rest) = if lower.starts_with("https://") {
            (true, &text["https://".len()..])
        } else if lower.starts_with("http://") {
            (false, &text["http://".len()..])
        } else {
            return Err(UrlError::Scheme);
        };
        if !https && !allow_private {
            return Err(UrlError::Scheme);
        }
        let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
        let authority = &rest[..authority_end];
        if authority.contains('@') {
            return Err(UrlError::Credentials);
        }
        let (host_text, port_text) = if let Some(inner) = authority.strip_prefix('[') {
            let close = inner.find(']').ok_or(UrlError::Host)?;
            let after = &inner[close + 1..];
            let port = match after {
                "" => None,
                _ => Some(after.strip_prefix(':').ok_or(UrlError::Host)?),
            };
            (&authority[..close + 2], port)
        } else {
            match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            }
        };
        let port = match port_text {
            None => None,
            Some(p) if !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()) => {
                match p.parse::<u16>() {
                    Ok(0) | Err(_) => return Err(UrlError::Port),
                    Ok(port) => Some(port),
                }
            }
            Some(_) => return Err(UrlError::Port),
        };
        let host = parse_host(host_text)?;
        if !allow_private {
            let private = match &host {
                Host::Ip(ip) => is_private_ip(*ip),
                Host::Name(name) => name == "localhost" || name.ends_with(".localhost"),
            };
            if private {
                return Err(UrlError::PrivateHost);
            }
        }
        Ok(EndpointUrl {
            text: text.to_owned(),
            host,
            port,
            https,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }

    pub fn host(&self) -> &Host {
        &self.host
    }

    /// The port given in the URL, if any.
    pub fn port(&self) -> Option<u16> {
        self.port
    }

    pub fn is_https(&self) -> bool {
        self.https
    }
}

impl fmt::Display for EndpointUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

fn parse_host(text: &str) -> Result<Host, UrlError> {
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        return inner
            .parse::<Ipv6Addr>()
            .map(|ip| Host::Ip(IpAddr::V6(ip)))
            .map_err(|_| UrlError::Host);
    }
    let name = text.trim_end_matches('.').to_ascii_lowercase();
    if name.is_empty() || name.len() > 253 {
        return Err(UrlError::Host);
    }
    if let Ok(ip) = name.parse::<Ipv4Addr>() {
        return Ok(Host::Ip(IpAddr::V4(ip)));
    }
    let labels_ok = name.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    });
    // A name made only of digits and dots that is not an IPv4 address (`1.2.3`, `010.1.1.1`
    // spelled oddly) could be read as an address by some resolvers: refuse it.
    let numeric = name.bytes().all(|b| b.is_ascii_digit() || b == b'.');
    if !labels_ok || numeric {
        return Err(UrlError::Host);
    }
    Ok(Host::Name(name))
}

/// Whether an address must not be reached by webhooks unless private targets are
/// allowed: loopback, private (RFC 1918, unique local), link-local, shared (CGNAT),
/// unspecified, multicast, broadcast and reserved ranges, and IPv6 forms that embed one.
pub fn is_private_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_private_v4(v4),
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_private_v4(v4);
            }
            let s = v6.segments();
            // NAT64 (64:ff9b::/96) embeds an IPv4 address in the last 32 bits.
            if s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|x| *x == 0) {
                let v4 = Ipv4Addr::new(
                    (s[6] >> 8) as u8,
                    (s[6] & 0xff) as u8,
                    (s[7] >> 8) as u8,
                    (s[7] & 0xff) as u8,
                );
                return is_private_v4(v4);
            }
            v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
                || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
                || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
                || (s[0] == 0 && s[1] == 0 && s[2..6].iter().all(|x| *x == 0)) // IPv4-compatible
                || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        }
    }
}

fn is_private_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_unspecified()
        || ip.is_broadcast()
        || ip.is_multicast()
        || a == 0 // "this network"
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240 // reserved
}

/// Delays between attempts, in seconds: the n-th entry is the wait after the n-th failed
/// attempt. 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 2 h, then every 4 h, for at least
/// 24 h in all (even with the shortest jitter) before the delivery is given up.
pub const RETRY_DELAYS_SECONDS: [i64; 13] = [
    5,
    30,
    2 * 60,
    10 * 60,
    30 * 60,
    3600,
    2 * 3600,
    4 * 3600,
    4 * 3600,
    4 * 3600,
    4 * 3600,
    4 * 3600,
    4 * 3600,
];

/// Attempts a delivery gets before it is given up: the first and one per delay.
pub const MAX_ATTEMPTS: u32 = RETRY_DELAYS_SECONDS.len() as u32 + 1;

/// Each delay is scaled by a factor from `1 - JITTER` to `1 + JITTER`.
pub const JITTER: f64 = 0.1;

/// The wait in milliseconds before the next attempt, after `failed_attempts` attempts
/// (1 after the first) have failed; `None` when the schedule is exhausted and the
/// delivery is to be given up. `random` is a fraction in `[0, 1)` chosen by the caller
/// (values outside are clamped); it spreads retries of many deliveries apart.
pub fn retry_delay_millis(failed_attempts: u32, random: f64) -> Option<i64> {
    let index = usize::try_from(failed_attempts.checked_sub(1)?).ok()?;
    let base = *RETRY_DELAYS_SECONDS.get(index)?;
    let random = if random.is_finite() {
        random.clamp(0.0, 1.0)
    } else {
        0.5
    };
    let factor = 1.0 - JITTER + 2.0 * JITTER * random;
    Some((base as f64 * 1000.0 * factor).round() as i64)
}

/// The prefix of Standard Webhooks message ids.
pub const MESSAGE_ID_PREFIX: &str = "msg_";

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// A Standard Webhooks message id, `msg_` and 22 base62 characters made from 16 random
/// bytes chosen by the caller. It is the `webhook-id` header and stays the same across
/// retries and replays, so receivers can drop duplicates.
pub fn message_id(random: [u8; 16]) -> String {
    let mut value = u128::from_be_bytes(random);
    let mut digits = [b'0'; 22];
    for digit in digits.iter_mut().rev() {
        *digit = BASE62[(value % 62) as usize];
        value /= 62;
    }
    let mut id = String::with_capacity(MESSAGE_ID_PREFIX.len() + digits.len());
    id.push_str(MESSAGE_ID_PREFIX);
    id.extend(digits.iter().map(|b| char::from(*b)));
    id
}

/// Whether `text` looks like a message id: `msg_` and 1–64 ASCII letters, digits, `_`
/// or `-`.
pub fn is_message_id(text: &str) -> bool {
    text.strip_prefix(MESSAGE_ID_PREFIX).is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() <= 64
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn kinds_round_trip() {
        let mut keys: Vec<_> = EventKind::ALL.iter().map(|k| k.key()).collect();
        for kind in EventKind::ALL {
            assert_eq!(EventKind::parse(kind.key()), Some(kind));
            assert_eq!(EventKind::parse_subscribable(kind.key()), Some(kind));
        }
        assert_eq!(EventKind::parse("webhook.test"), Some(EventKind::Test));
        assert_eq!(EventKind::parse_subscribable("webhook.test"), None);
        assert_eq!(EventKind::parse("stamp.made"), None);
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), EventKind::ALL.len());
        for target in FilingTarget::ALL {
            assert_eq!(FilingTarget::parse(target.key()), Some(target));
        }
        assert_eq!(FilingTarget::parse("police"), None);
    }

    #[test]
    fn kinds_are_normalised_and_filing_targets_get_seal_events() {
        use EventKind::*;
        assert_eq!(
            normalise_kinds(
                &[GrantRevoked, ApplicationSubmitted, GrantRevoked, Test],
                None
            ),
            vec![ApplicationSubmitted, GrantRevoked]
        );
        assert_eq!(
            normalise_kinds(&[GrantIssued], Some(FilingTarget::PublicSecurity)),
            vec![GrantIssued, SealCreated, SealStatusChanged]
        );
    }

    #[test]
    fn urls() {
        let ok = |text: &str, allow: bool| EndpointUrl::parse(text, allow);
        let url = ok("https://hooks.example.com:8443/in?x=1", false).unwrap();
        assert_eq!(url.host(), &Host::Name("hooks.example.com".into()));
        assert_eq!(url.port(), Some(8443));
        assert!(url.is_https());
        assert_eq!(url.as_str(), "https://hooks.example.com:8443/in?x=1");
        assert!(ok("HTTPS://Example.com", false).is_ok());
        assert!(ok("https://[2606:4700::1111]/x", false).is_ok());
        assert!(ok("https://1.1.1.1/x", false).is_ok());
        for (bad, allow, error) in [
            ("", false, UrlError::Empty),
            ("ftp://example.com", true, UrlError::Scheme),
            ("example.com/hook", true, UrlError::Scheme),
            ("http://example.com/hook", false, UrlError::Scheme),
            ("https://user:pw@example.com/", true, UrlError::Credentials),
            ("https:///path", true, UrlError::Host),
            ("https://exa mple.com", true, UrlError::Characters),
            ("https://example.com/#frag", true, UrlError::Characters),
            ("https://example.com:0/", true, UrlError::Port),
            ("https://example.com:99999/", true, UrlError::Port),
            ("https://example.com:/", true, UrlError::Port),
            ("https://-bad-.com/", true, UrlError::Host),
            ("https://1.2.3/", true, UrlError::Host),
            ("https://[::1/", true, UrlError::Host),
            ("https://localhost/x", false, UrlError::PrivateHost),
            ("https://127.0.0.1:8080/x", false, UrlError::PrivateHost),
            ("https://10.1.2.3/x", false, UrlError::PrivateHost),
            (
                "https://169.254.169.254/latest",
                false,
                UrlError::PrivateHost,
            ),
            ("https://[::1]/x", false, UrlError::PrivateHost),
            (
                "https://[::ffff:192.168.1.1]/x",
                false,
                UrlError::PrivateHost,
            ),
        ] {
            assert_eq!(ok(bad, allow), Err(error), "{bad}");
        }
        assert!(ok("http://127.0.0.1:8080/x", true).is_ok());
        assert!(ok("http://localhost/x", true).is_ok());
        let long = format!("https://example.com/{}", "a".repeat(EndpointUrl::MAX_LEN));
        assert!(matches!(ok(&long, true), Err(UrlError::TooLong { .. })));
    }

    #[test]
    fn private_addresses() {
        for private in [
            "127.0.0.1",
            "10.0.0.1",
            "172.16.5.4",
            "192.168.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
        ] {
            let ip: IpAddr = private.parse().unwrap();
            assert!(is_private_ip(ip), "{private}");
        }
        for public in ["1.1.1.1", "8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8"] {
            let ip: IpAddr = public.parse().unwrap();
            assert!(!is_private_ip(ip), "{public}");
        }
    }

    #[test]
    fn schedule_spans_a_day_and_ends() {
        let nominal: i64 = RETRY_DELAYS_SECONDS.iter().sum();
        let shortest: i64 = (1..MAX_ATTEMPTS)
            .map(|n| retry_delay_millis(n, 0.0).unwrap())
            .sum();
        assert!(shortest >= 24 * 3600 * 1000, "shortest span {shortest} ms");
        assert!(nominal < 30 * 3600, "nominal span {nominal} s");
        assert_eq!(retry_delay_millis(0, 0.5), None);
        assert_eq!(retry_delay_millis(MAX_ATTEMPTS, 0.5), None);
        assert_eq!(retry_delay_millis(1, 0.5), Some(5_000));
        assert_eq!(retry_delay_millis(7, 0.5), Some(2 * 3600 * 1000));
        assert_eq!(retry_delay_millis(1, f64::NAN), Some(5_000));
    }

    #[test]
    fn message_ids() {
        let id = message_id([0; 16]);
        assert_eq!(id, "msg_0000000000000000000000");
        let max = message_id([0xff; 16]);
        assert_eq!(max.len(), 26);
        assert!(is_message_id(&max));
        assert_ne!(message_id([1; 16]), message_id([2; 16]));
        assert!(is_message_id("msg_p5jXN8AQM9LWM0D4loKWxJek"));
        for bad in ["msg_", "msg", "evt_abc", "msg_a b", "msg_ü"] {
            assert!(!is_message_id(bad), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn jitter_is_bounded(n in 1u32..MAX_ATTEMPTS, random in 0.0f64..1.0) {
            let base = RETRY_DELAYS_SECONDS[(n - 1) as usize] * 1000;
            let delay = retry_delay_millis(n, random).unwrap();
            prop_assert!(delay as f64 >= base as f64 * (1.0 - JITTER) - 1.0);
            prop_assert!(delay as f64 <= base as f64 * (1.0 + JITTER) + 1.0);
        }

        #[test]
        fn delays_never_shrink_much(n in 1u32..MAX_ATTEMPTS - 1, a in 0.0f64..1.0, b in 0.0f64..1.0) {
            // Monotone up to jitter: the next delay is never below the current one's
            // shortest form scaled down by the jitter band.
            let now = retry_delay_millis(n, a).unwrap() as f64;
            let next = retry_delay_millis(n + 1, b).unwrap() as f64;
            prop_assert!(next >= now * (1.0 - JITTER) / (1.0 + JITTER) - 1.0);
        }

        #[test]
        fn any_schedule_is_finite_and_long(randoms in proptest::collection::vec(0.0f64..1.0, 14)) {
            let mut total = 0i64;
            let mut attempts = 1u32;
            while let Some(delay) = retry_delay_millis(attempts, randoms[(attempts - 1) as usize]) {
                total += delay;
                attempts += 1;
                prop_assert!(attempts <= MAX_ATTEMPTS);
            }
            prop_assert_eq!(attempts, MAX_ATTEMPTS);
            prop_assert!(total >= 24 * 3600 * 1000);
        }

        #[test]
        fn message_ids_are_valid(bytes in proptest::array::uniform16(any::<u8>())) {
            let id = message_id(bytes);
            prop_assert!(is_message_id(&id));
            prop_assert_eq!(id.len(), 26);
        }
    }
}
