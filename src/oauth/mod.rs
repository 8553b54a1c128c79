//! The built-in authorization server's HTTP side (SMART App Launch 2.0.0):
//! discovery, JWKS, authorize (login, consent and patient picker pages),
//! token, introspection and revocation. A protocol adapter: it reaches the
//! data through `auth` and the store, never through FHIR handlers.
