//! The checks of `[uplink]` that need more than one key: the MQTT broker
//! once `[uplink.mqtt]` is declared, `[uplink.mqtt.tls]` against the broker
//! (and its port's default), the HTTP transport against `[uplink.http]`,
//! and `[uplink.http.tls]` against the URL's scheme and server.

use figment::value::Value;

use super::super::{http, tls, Config, Origin, Problem, Transport, DEFAULT_MQTTS_PORT};
use super::{env_var_for, Sources, Target};

/// Adds the problems found to `problems`, and the defaults chosen from
/// other keys to `chosen`.
pub(super) fn check(
    config: &mut Config,
    value: &Value,
    sources: &Sources<'_>,
    problems: &mut Vec<Problem>,
    chosen: &mut Vec<String>,
) {
    mqtt(config, value, sources, problems, chosen);
    http_transport(config, value, sources, problems);
}

fn mqtt(
    config: &mut Config,
    value: &Value,
    sources: &Sources<'_>,
    problems: &mut Vec<Problem>,
    chosen: &mut Vec<String>,
) {
    // The broker is required once the MQTT uplink is declared (any key of
    // `[uplink.mqtt]` set). A config without it still loads, so the queue
    // and modem tools work on a gateway not yet given a broker; whoever
    // starts the uplink checks `MqttConfig::host` and names the key.
    let uplink_declared = value.find_ref("uplink.mqtt").is_some();
    let host_rejected = problems.iter().any(|p| p.key == "uplink.mqtt.host");
    if uplink_declared
        && config.uplink.transport == Transport::Mqtt
        && config.uplink.mqtt.host.is_none()
        && !host_rejected
    {
        problems.push(Problem {
            key: "uplink.mqtt.host".into(),
            origin: Origin::NotSet,
            message: format!(
                "required key is missing: the MQTT uplink is configured, so set `host` in \
                 the [uplink.mqtt] table of {} (the broker's name or IP address), or set {}",
                sources.path.display(),
                env_var_for("uplink.mqtt.host")
            ),
        });
    }
    if let Some(tls) = &config.uplink.mqtt.tls {
        // TLS has its own port; one set explicitly is kept.
        if value.find_ref("uplink.mqtt.port").is_none() {
            config.uplink.mqtt.port = DEFAULT_MQTTS_PORT;
            chosen.push(format!(
                "uplink.mqtt.port = {} because [uplink.mqtt.tls] is set (MQTT over TLS)",
                DEFAULT_MQTTS_PORT
            ));
        }
        // Without a broker there is nothing to check against; the missing
        // host is reported on its own.
        let target = config.uplink.mqtt.tls_target();
        let problems_found = target.map_or_else(Vec::new, |t| tls::check(tls, t));
        for (field, message) in problems_found {
            let key: Vec<String> = ["uplink", "mqtt", "tls", field]
                .iter()
                .map(|k| (*k).to_owned())
                .collect();
            let shown = key.join(".");
            if problems.iter().any(|p| p.key == shown) {
                continue;
            }
            let origin = match sources.origin(&key, value, Target::Value) {
                Origin::NotSet => sources.origin(&key[..3], value, Target::Value),
                origin => origin,
            };
            problems.push(Problem {
                key: shown,
                origin,
                message,
            });
        }
    }
}

/// `uplink.transport = "http"` needs `[uplink.http]`; the URL's scheme
/// decides whether `[uplink.http.tls]` must or must not be there, and a
/// TLS table is checked like MQTT's.
fn http_transport(
    config: &Config,
    value: &Value,
    sources: &Sources<'_>,
    problems: &mut Vec<Problem>,
) {
    // A table whose bad values were removed is reported at them already.
    let http_reported = problems.iter().any(|p| p.key.starts_with("uplink.http"));
    let Some(http) = &config.uplink.http else {
        if config.uplink.transport == Transport::Http
            && !http_reported
            && !problems.iter().any(|p| p.key == "uplink.transport")
        {
            let key = ["uplink", "transport"].map(str::to_owned);
            problems.push(Problem {
                key: key.join("."),
                origin: sources.origin(&key, value, Target::Value),
                message: format!(
                    "`http` needs the [uplink.http] table with at least uplink.http.url (or \
                     {}); declare it, or use `mqtt` with [uplink.mqtt]",
                    env_var_for("uplink.http.url")
                ),
            });
        }
        return;
    };
    for (field, message) in http::check(http) {
        let mut key: Vec<String> = ["uplink", "http"].map(str::to_owned).to_vec();
        key.extend(field.split('.').map(str::to_owned));
        let shown = key.join(".");
        if problems.iter().any(|p| p.key == shown) {
            continue;
        }
        // A missing TLS table is the URL's doing; a missing key of the
        // table is placed at the table.
        let origin = [
            &key[..],
            &key[..3],
            &["uplink".into(), "http".into(), "url".into()],
        ]
        .into_iter()
        .map(|k| sources.origin(k, value, Target::Value))
        .find(|o| *o != Origin::NotSet)
        .unwrap_or(Origin::NotSet);
        problems.push(Problem {
            key: shown,
            origin,
            message,
        });
    }
}
