//! Devices: kinds, admission status and its allowed changes, serial numbers, MAC
//! addresses, firmware versions, terminals, positions and geofences, device parameters,
//! command kinds, and the reasons an unlock is refused.

use std::fmt;

use crate::seal::keyed_enum;

/// What a device is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// A smart seal box (智能章筒) holding a physical seal.
    SealBox,
    /// A seal printer with a scanner.
    SealPrinter,
    /// A stand-alone scanner.
    Scanner,
    /// An electronic staff-ID kiosk.
    IdKiosk,
}

keyed_enum!(DeviceKind {
    SealBox => "seal_box",
    SealPrinter => "seal_printer",
    Scanner => "scanner",
    IdKiosk => "id_kiosk",
});

impl DeviceKind {
    /// Whether this kind holds a seal (and so can be bound to one and unlocked).
    pub const fn holds_seal(self) -> bool {
        matches!(self, DeviceKind::SealBox | DeviceKind::SealPrinter)
    }
}

/// A device's admission status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceStatus {
    /// Enrolled with a token, waiting for an admin.
    Pending,
    /// Approved: allow-listed by serial and MAC address.
    Active,
    /// Refused or revoked: every request is rejected. Final.
    Revoked,
}

keyed_enum!(DeviceStatus {
    Pending => "pending",
    Active => "active",
    Revoked => "revoked",
});

/// A status change a device cannot make.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a {from} device cannot become {to}")]
pub struct DeviceStatusError {
    pub from: DeviceStatus,
    pub to: DeviceStatus,
}

impl DeviceStatus {
    /// pending → active (approve), pending → revoked (refuse), active → revoked (revoke).
    pub fn change_to(self, to: DeviceStatus) -> Result<DeviceStatus, DeviceStatusError> {
        use DeviceStatus::*;
        match (self, to) {
            (Pending, Active) | (Pending, Revoked) | (Active, Revoked) => Ok(to),
            (from, to) => Err(DeviceStatusError { from, to }),
        }
    }
}

/// A value that failed to parse.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeviceValueError {
    #[error("a serial number is 1 to 64 letters, digits, '-', '_' or '.'")]
    Serial,
    #[error("a MAC address is six hexadecimal pairs such as 02:00:5e:10:00:01")]
    Mac,
    #[error("a firmware version is 1 to 32 printable characters")]
    Firmware,
    #[error("a terminal identity is 1 to 64 printable characters")]
    Terminal,
    #[error("a position needs a latitude in -90..90 and a longitude in -180..180")]
    Position,
    #[error("a geofence radius is 10 m to 100 km")]
    Radius,
    #[error("a battery level is 0 to 100 %")]
    Battery,
    #[error(
        "parameters out of range: heartbeat 5–3600 s, press limit 100–60000 ms, low battery 1–90 %"
    )]
    Parameters,
}

fn printable(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.chars().count() <= max
        && !text.chars().any(char::is_control)
        && text.trim() == text
}

/// A device's serial number as the vendor prints it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SerialNumber(String);

impl SerialNumber {
    pub fn parse(text: &str) -> Result<Self, DeviceValueError> {
        let text = text.trim();
        let ok = !text.is_empty()
            && text.len() <= 64
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if ok {
            Ok(Self(text.to_owned()))
        } else {
            Err(DeviceValueError::Serial)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SerialNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A MAC address, kept in the canonical lower-case colon form.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct MacAddress([u8; 6]);

impl MacAddress {
    /// Accepts `aa:bb:cc:dd:ee:ff`, `AA-BB-CC-DD-EE-FF` or `aabbccddeeff`.
    pub fn parse(text: &str) -> Result<Self, DeviceValueError> {
        let hex: String = text
            .trim()
            .chars()
            .filter(|c| !matches!(c, ':' | '-'))
            .collect();
        let separators = text.trim().len() - hex.len();
        if hex.len() != 12 || !(separators == 0 || separators == 5) {
            return Err(DeviceValueError::Mac);
        }
        let mut bytes = [0u8; 6];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(hex.get(2 * i..2 * i + 2).ok_or(DeviceValueError::Mac)?, 16)
                .map_err(|_| DeviceValueError::Mac)?;
        }
        Ok(Self(bytes))
    }

    pub const fn bytes(&self) -> [u8; 6] {
        self.0
    }
}

impl fmt::Display for MacAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

/// A firmware version string as the device reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Firmware(String);

impl Firmware {
    pub fn parse(text: &str) -> Result<Self, DeviceValueError> {
        if printable(text, 32) {
            Ok(Self(text.to_owned()))
        } else {
            Err(DeviceValueError::Firmware)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The terminal a device is bound to: the keeper's or applicant's phone identity.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Terminal(String);

impl Terminal {
    pub fn parse(text: &str) -> Result<Self, DeviceValueError> {
        let text = text.trim();
        if printable(text, 64) {
            Ok(Self(text.to_owned()))
        } else {
            Err(DeviceValueError::Terminal)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A point on the earth (WGS 84 degrees).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GeoPoint {
    lat: f64,
    lon: f64,
}

/// Mean earth radius in metres (IUGG).
const EARTH_RADIUS_M: f64 = 6_371_008.8;

impl GeoPoint {
    pub fn new(lat: f64, lon: f64) -> Result<Self, DeviceValueError> {
        if lat.is_finite()
            && lon.is_finite()
            && (-90.0..=90.0).contains(&lat)
            && (-180.0..=180.0).contains(&lon)
        {
            Ok(Self { lat, lon })
        } else {
            Err(DeviceValueError::Position)
        }
    }

    pub const fn lat(&self) -> f64 {
        self.lat
    }

    pub const fn lon(&self) -> f64 {
        self.lon
    }

    /// Great-circle distance in metres (haversine).
    pub fn distance_m(&self, other: &GeoPoint) -> f64 {
        let (p1, p2) = (self.lat.to_radians(), other.lat.to_radians());
        let dp = p2 - p1;
        let dl = (other.lon - self.lon).to_radians();
        let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
    }

    /// The point rounded to about a kilometre, for showing a coarse place.
    pub fn coarse(&self) -> (f64, f64) {
        (
            (self.lat * 100.0).round() / 100.0,
            (self.lon * 100.0).round() / 100.0,
        )
    }
}

/// A device's home position and the radius it may move within.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Geofence {
    home: GeoPoint,
    radius_m: u32,
}

impl Geofence {
    pub fn new(home: GeoPoint, radius_m: u32) -> Result<Self, DeviceValueError> {
        if (10..=100_000).contains(&radius_m) {
            Ok(Self { home, radius_m })
        } else {
            Err(DeviceValueError::Radius)
        }
    }

    pub const fn home(&self) -> GeoPoint {
        self.home
    }

    pub const fn radius_m(&self) -> u32 {
        self.radius_m
    }

    /// Whether a position reported with `accuracy_m` lies outside: only when even the
    /// nearest point of its accuracy circle is outside, so GPS noise does not alarm.
    pub fn is_outside(&self, at: &GeoPoint, accuracy_m: f64) -> bool {
        let accuracy = if accuracy_m.is_finite() {
            accuracy_m.clamp(0.0, 1_000.0)
        } else {
            0.0
        };
        self.home.distance_m(at) - accuracy > f64::from(self.radius_m)
    }
}

/// A battery level in percent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct BatteryPct(u8);

impl BatteryPct {
    pub fn new(pct: u8) -> Result<Self, DeviceValueError> {
        if pct <= 100 {
            Ok(Self(pct))
        } else {
            Err(DeviceValueError::Battery)
        }
    }

    pub const fn get(self) -> u8 {
        self.0
    }
}

/// Settings a device runs with; changed by an `update_parameters` command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceParameters {
    heartbeat_seconds: u32,
    press_max_ms: u32,
    low_battery_pct: u8,
}

impl DeviceParameters {
    pub fn new(
        heartbeat_seconds: u32,
        press_max_ms: u32,
        low_battery_pct: u8,
    ) -> Result<Self, DeviceValueError> {
        if (5..=3600).contains(&heartbeat_seconds)
            && (100..=60_000).contains(&press_max_ms)
            && (1..=90).contains(&low_battery_pct)
        {
            Ok(Self {
                heartbeat_seconds,
                press_max_ms,
                low_battery_pct,
            })
        } else {
            Err(DeviceValueError::Parameters)
        }
    }

    pub const fn heartbeat_seconds(&self) -> u32 {
        self.heartbeat_seconds
    }

    pub const fn press_max_ms(&self) -> u32 {
        self.press_max_ms
    }

    pub const fn low_battery_pct(&self) -> u8 {
        self.low_battery_pct
    }
}

impl Default for DeviceParameters {
    fn default() -> Self {
        Self {
            heartbeat_seconds: 30,
            press_max_ms: 3_000,
            low_battery_pct: 15,
        }
    }
}

/// A command the server sends a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandKind {
    /// Lock now and forget any grant.
    Lock,
    /// Forget one grant.
    CancelGrant,
    /// Replace the device's parameters.
    UpdateParameters,
}

keyed_enum!(CommandKind {
    Lock => "lock",
    CancelGrant => "cancel_grant",
    UpdateParameters => "update_parameters",
});

/// Where a command is in its delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CommandStatus {
    /// Queued, not yet acknowledged (sent again until it is).
    Pending,
    /// The device carried it out.
    Done,
    /// The device could not carry it out.
    Failed,
}

keyed_enum!(CommandStatus {
    Pending => "pending",
    Done => "done",
    Failed => "failed",
});

/// Why an unlock (or a printer scan) is refused, checked in this order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UnlockRefusal {
    DeviceNotActive,
    UnknownOrder,
    NotApproved,
    WrongSeal,
    OutsideWindow,
    NoUsesLeft,
    GrantNotActive,
}

keyed_enum!(UnlockRefusal {
    DeviceNotActive => "device_not_active",
    UnknownOrder => "unknown_order",
    NotApproved => "not_approved",
    WrongSeal => "wrong_seal",
    OutsideWindow => "outside_window",
    NoUsesLeft => "no_uses_left",
    GrantNotActive => "grant_not_active",
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_changes() {
        use DeviceStatus::*;
        assert_eq!(Pending.change_to(Active), Ok(Active));
        assert_eq!(Pending.change_to(Revoked), Ok(Revoked));
        assert_eq!(Active.change_to(Revoked), Ok(Revoked));
        assert!(Revoked.change_to(Active).is_err());
        assert!(Active.change_to(Pending).is_err());
        assert!(Active.change_to(Active).is_err());
    }

    #[test]
    fn mac_addresses_parse_in_common_forms() {
        let a = MacAddress::parse("02:00:5E:10:00:01").unwrap();
        assert_eq!(a.to_string(), "02:00:5e:10:00:01");
        assert_eq!(MacAddress::parse("02-00-5e-10-00-01"), Ok(a));
        assert_eq!(MacAddress::parse("02005e100001"), Ok(a));
        for bad in [
            "",
            "02:00:5e:10:00",
            "02:00:5e:10:00:0g",
            "02:00:5e:10:00:01:02",
            "0:2:0:0:5e:10:00:01",
        ] {
            assert_eq!(MacAddress::parse(bad), Err(DeviceValueError::Mac), "{bad}");
        }
    }

    #[test]
    fn serials_and_texts() {
        assert!(SerialNumber::parse("SB-2026.0001_a").is_ok());
        assert!(SerialNumber::parse("has space").is_err());
        assert!(SerialNumber::parse(&"x".repeat(65)).is_err());
        assert!(Firmware::parse("1.4.2-rc1").is_ok());
        assert!(Firmware::parse("").is_err());
        assert!(Terminal::parse("phone:13800138000").is_ok());
        assert!(Terminal::parse("bad\nterminal").is_err());
    }

    #[test]
    fn distances_and_geofences() {
        // Shanghai People's Square to the Bund: about 1.9 km.
        let square = GeoPoint::new(31.2304, 121.4737).unwrap();
        let bund = GeoPoint::new(31.2400, 121.4900).unwrap();
        let d = square.distance_m(&bund);
        assert!((1_800.0..2_000.0).contains(&d), "{d}");
        // One degree of latitude is about 111.2 km.
        let a = GeoPoint::new(0.0, 0.0).unwrap();
        let b = GeoPoint::new(1.0, 0.0).unwrap();
        assert!((a.distance_m(&b) - 111_195.0).abs() < 10.0);
        let fence = Geofence::new(square, 1_000).unwrap();
        assert!(!fence.is_outside(&square, 0.0));
        assert!(fence.is_outside(&bund, 0.0));
        assert!(
            !fence.is_outside(&bund, 900.0),
            "a vague fix near the edge is not an alarm"
        );
        assert!(Geofence::new(square, 5).is_err());
        assert!(GeoPoint::new(91.0, 0.0).is_err());
        assert!(GeoPoint::new(f64::NAN, 0.0).is_err());
        assert_eq!(bund.coarse(), (31.24, 121.49));
    }

    #[test]
    fn parameters_have_bounds_and_defaults() {
        let d = DeviceParameters::default();
        assert_eq!(
            DeviceParameters::new(d.heartbeat_seconds(), d.press_max_ms(), d.low_battery_pct()),
            Ok(d)
        );
        assert!(DeviceParameters::new(1, 3000, 15).is_err());
        assert!(DeviceParameters::new(30, 50, 15).is_err());
        assert!(DeviceParameters::new(30, 3000, 0).is_err());
        assert!(BatteryPct::new(101).is_err());
    }

    #[test]
    fn keys_round_trip() {
        for k in DeviceKind::ALL {
            assert_eq!(DeviceKind::parse(k.key()), Some(*k));
        }
        for r in UnlockRefusal::ALL {
            assert_eq!(UnlockRefusal::parse(r.key()), Some(*r));
        }
        assert!(DeviceKind::SealBox.holds_seal() && !DeviceKind::Scanner.holds_seal());
    }
}
