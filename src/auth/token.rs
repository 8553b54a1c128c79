//! Access tokens: JWTs (RFC 7519) signed RS256 by the active signing key,
//! carrying what SMART App Launch 2.0.0 puts in a token response (scope,
//! patient, encounter, fhirUser) so that the resource server needs no
//! database round trip to know what a token grants.

use serde::{Deserialize, Serialize};

use super::grant::{Actor, Grant};
use super::scopes::Scopes;
use crate::model::ResourceId;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    /// The user (`user:<username>`) or, for a backend service or an operator
    /// token, the client.
    pub sub: String,
    /// The FHIR base the token is for (SMART: the `aud` the app asked for).
    pub aud: String,
    pub exp: i64,
    pub iat: i64,
    pub jti: String,
    pub scope: String,
    pub client_id: String,
    pub tenant: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patient: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encounter: Option<String>,
    #[serde(rename = "fhirUser", default, skip_serializing_if = "Option::is_none")]
    pub fhir_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The grant the token was issued under (store/auth/grants.rs): revoking
    /// the grant ends the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant: Option<String>,
}

impl AccessClaims {
    /// What the token grants, for the engine's decision point.
    pub fn grant(&self) -> Grant {
        Grant {
            scopes: Scopes::parse(&self.scope),
            patient: self.patient.as_deref().and_then(ResourceId::parse),
            actor: Actor {
                user: self
                    .fhir_user
                    .clone()
                    .or_else(|| self.username.as_ref().map(|u| format!("user:{u}"))),
                client_id: Some(self.client_id.clone()),
            },
        }
    }
}
