//! Typed identifiers: a UUID per kind of entity, so a person id cannot be passed as an
//! organisation id.

use std::fmt;
use uuid::Uuid;

/// The text was not a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a valid identifier")]
pub struct IdError;

macro_rules! uuid_id {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps 16 bytes chosen by the caller (random, or read back from storage).
            pub const fn from_bytes(bytes: [u8; 16]) -> Self {
                Self(Uuid::from_bytes(bytes))
            }

            pub const fn from_uuid(uuid: Uuid) -> Self {
                Self(uuid)
            }

            pub fn parse(text: &str) -> Result<Self, IdError> {
                Uuid::try_parse(text.trim()).map(Self).map_err(|_| IdError)
            }

            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }
    };
}

uuid_id!(
    /// An organisation (tenant). Every query is scoped by one.
    OrgId
);
uuid_id!(
    /// A node of an organisation's department tree.
    DepartmentId
);
uuid_id!(
    /// A person (account) in an organisation.
    PersonId
);
uuid_id!(
    /// A built-in or custom role of an organisation.
    RoleId
);
uuid_id!(
    /// An API token (the id, not the secret).
    ApiTokenId
);

uuid_id!(
    /// A seal in an organisation's registry.
    SealId
);
uuid_id!(
    /// A seal-use application (用印申请工单).
    ApplicationId
);
uuid_id!(
    /// A document attached to an application.
    DocumentId
);
uuid_id!(
    /// An approval flow (a seal's own or the organisation's default).
    FlowId
);
uuid_id!(
    /// A grant: what an approved application allows at a device or signer.
    GrantId
);

uuid_id!(
    /// A webhook endpoint of an organisation.
    WebhookId
);
uuid_id!(
    /// One event's delivery to one webhook endpoint.
    WebhookDeliveryId
);

uuid_id!(
    /// A device: seal box, seal printer, scanner or ID kiosk.
    DeviceId
);
uuid_id!(
    /// A one-time device enrolment token (the id, not the secret).
    EnrolmentTokenId
);
uuid_id!(
    /// A command queued for a device.
    CommandId
);
uuid_id!(
    /// An alarm raised about a device, seal or application.
    AlarmId
);
uuid_id!(
    /// A stamp: one press of a seal box or one print job (128 random bits).
    StampId
);
uuid_id!(
    /// One change of a stamp's status (revoked, disputed, valid again).
    StampEventId
);
uuid_id!(
    /// One comparison of a captured page with the approved document.
    ComparisonId
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_text() {
        let id = PersonId::from_bytes([7; 16]);
        assert_eq!(PersonId::parse(&id.to_string()), Ok(id));
        assert_eq!(PersonId::parse("nope"), Err(IdError));
    }
}
