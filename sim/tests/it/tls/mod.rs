//! Secure MQTT (§3, §6.9) with real TLS: the simulated module, driven with
//! raw AT bytes, imports certificates made at test time with the `openssl`
//! command line (`pki`), logs in through its TLS layer to **mosquitto**
//! with a TLS listener (one-way and mutual TLS, TLS 1.2 and 1.3) and to
//! **`openssl s_server`**, which says on its own output whether a
//! connection resumed a session (`servers`).
//!
//! mosquitto and the `openssl` tool must be installed (`scripts/test`
//! installs them): without them these tests fail, they never skip.

mod module;
mod mosquitto;
mod resumption;
