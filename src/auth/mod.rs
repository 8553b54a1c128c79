//! Authorization (issue #17, SMART App Launch 2.0.0,
//! https://hl7.org/fhir/smart-app-launch/STU2/): what a bearer token grants.
//!
//! - [`scopes`]: SMART scopes v1 and v2 (scopes-and-launch-context.html), parsed
//!   into values, compared ("does this scope cover that one") and described in
//!   plain words for the consent page.
//! - `grant`: what one token allows for an action on a type (all, none, or
//!   within the launch patient's compartment or a scope's query), as the
//!   engine's decision point asks.
//! - `signing`, `token`, `authority`: the built-in issuer's keys (sealed under
//!   the master key), its access tokens, their verification and revocation;
//!   `external`: tokens of trusted OpenID Connect providers; `verified`: the
//!   tokens already verified, so a request does not check a signature again.
//!
//! This layer sits above `audit` and below FHIR semantics: the engine's
//! decision point (`fhir::engine::access`) interprets what is decided here;
//! the OAuth endpoints and pages (`oauth`) are a protocol adapter above.

pub mod authority;
pub mod client_keys;
mod error;
pub mod external;
pub mod grant;
pub mod jwk;
mod key_store;
pub mod password;
pub mod revoked;
pub mod scopes;
pub mod signing;
pub mod token;
mod verified;

pub use authority::{Authority, TokenSpec};
pub use error::AuthError;
