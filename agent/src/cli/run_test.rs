//! `edge-agent run --test` (Telegraf's `--test`): load the configured
//! plugins as the agent would, poll each once, and print their readings and
//! the messages they would make in `uplink.encoding`. Nothing else is
//! touched: no modem, no queue, no data directory, no network.

use std::fmt::Write as _;

use anyhow::Context;
use edge_agent::config::Config;
use edge_agent::plugin_host::{
    load_configured, InstanceStatus, LoadFailure, PluginHost, PluginReading,
    DEFAULT_CHANNEL_CAPACITY,
};
use edge_agent::reading::Sequenced;
use edge_agent::uplink::{Encoding, Packed};

use super::output::print_stdout;
use super::utc::rfc3339_ns;

/// Polls every configured plugin once and prints what came of it; fails
/// when a plugin could not be loaded or its instance did not run cleanly.
pub async fn run(config: &Config) -> anyhow::Result<()> {
    if config.plugins.is_empty() {
        return print_stdout("no [[plugins]] configured: nothing to poll\n");
    }
    let (specs, failures) = load_configured(&config.plugin_entries());
    // The same channel as the agent's, drained while the plugins run, so a
    // plugin that overflows it here would overflow it in the agent too.
    let (host, mut receiver) = PluginHost::start(specs, DEFAULT_CHANNEL_CAPACITY);
    let collector = tokio::spawn(async move {
        let mut readings = Vec::new();
        while let Some(reading) = receiver.recv().await {
            readings.push(reading);
        }
        readings
    });
    host.first_polls_done().await;
    let statuses = host.shutdown().await;
    let readings = collector
        .await
        .context("the task collecting the readings failed")?;

    let mut out = String::new();
    let mut failed = Vec::new();
    for plugin in &config.plugins {
        let name = plugin.name.as_str();
        let status = statuses.iter().find(|s| s.name == name);
        let failure = failures.iter().find(|f| f.name == name);
        let own: Vec<&PluginReading> = readings
            .iter()
            .filter(|r| r.reading.source == name)
            .collect();
        if let Some(trouble) = describe_instance(&mut out, name, status, failure, &own) {
            failed.push(format!("{name} ({trouble})"));
        }
    }
    describe_messages(&mut out, config, readings);
    print_stdout(&out)?;
    if !failed.is_empty() {
        anyhow::bail!(
            "{} of {} plugins failed: {}",
            failed.len(),
            config.plugins.len(),
            failed.join(", ")
        );
    }
    Ok(())
}

/// One instance's paragraph: how it fared and its readings. Returns what
/// went wrong, if anything did.
fn describe_instance(
    out: &mut String,
    name: &str,
    status: Option<&InstanceStatus>,
    failure: Option<&LoadFailure>,
    readings: &[&PluginReading],
) -> Option<String> {
    if let Some(failure) = failure {
        let _ = writeln!(out, "plugin {name}: not loaded: {}\n", failure.error);
        return Some("not loaded".into());
    }
    let Some(status) = status else {
        let _ = writeln!(out, "plugin {name}: not started\n");
        return Some("not started".into());
    };
    let c = &status.counters;
    let mut trouble = Vec::new();
    if c.errors + c.panics > 0 {
        trouble.push(format!("{} failed calls", c.errors + c.panics));
    }
    if c.deadlines_missed > 0 {
        trouble.push("missed its deadline (wedged)".to_owned());
    }
    if c.rejected_total() > 0 {
        let reasons: Vec<String> = c
            .rejected
            .iter()
            .map(|(reason, n)| format!("{n} {reason}"))
            .collect();
        trouble.push(format!("invalid readings dropped: {}", reasons.join(", ")));
    }
    if c.dropped_full > 0 {
        trouble.push(format!("{} readings dropped, channel full", c.dropped_full));
    }
    let _ = writeln!(
        out,
        "plugin {name} (library {}): {} readings{}",
        status.plugin,
        readings.len(),
        if trouble.is_empty() {
            String::new()
        } else {
            format!("; {}", trouble.join("; "))
        }
    );
    for r in readings {
        let reading = &r.reading;
        let unit = reading
            .unit
            .as_deref()
            .map(|u| format!(" {u}"))
            .unwrap_or_default();
        let tags = if reading.tags.is_empty() {
            String::new()
        } else {
            let list: Vec<String> = reading
                .tags
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect();
            format!("  [{}]", list.join(", "))
        };
        let _ = writeln!(
            out,
            "  {} {} = {}{unit}{tags}  at {}{}",
            reading.source,
            reading.name,
            reading.value,
            rfc3339_ns(reading.timestamp_ns),
            if r.urgent { "  (urgent)" } else { "" }
        );
    }
    out.push('\n');
    (!trouble.is_empty()).then(|| trouble.join("; "))
}

/// The messages the readings would make, packed as the uplink packs them,
/// each shown readably: JSON and line protocol as they are, CBOR in hex.
fn describe_messages(out: &mut String, config: &Config, readings: Vec<PluginReading>) {
    if readings.is_empty() {
        out.push_str("no readings, so no message\n");
        return;
    }
    let device = config.agent.device_id.as_ref().map(|d| d.as_str());
    let packer = config.uplink.packer(device);
    let encoding = config.uplink.encoding;
    let _ = writeln!(
        out,
        "messages in {encoding} ({}){}:",
        encoding.content_type(),
        if device.is_some() {
            ""
        } else {
            ", without a device id (agent.device_id is not set: the agent uses the module's \
             IMEI, which --test does not read)"
        }
    );
    let sequenced = readings.into_iter().zip(1..).map(|(r, seq)| Sequenced {
        seq,
        reading: r.reading,
    });
    let mut count = 0;
    for packed in packer.packs(sequenced) {
        match packed {
            Packed::Message(message) => {
                count += 1;
                let _ = writeln!(
                    out,
                    "message {count}: {} readings, {} bytes",
                    message.seqs.len(),
                    message.payload.len()
                );
                let shown = show(encoding, &message.payload);
                out.push_str(shown.trim_end_matches('\n'));
                out.push('\n');
            }
            Packed::Rejected(rejected) => {
                let r = &rejected.reading.reading;
                let _ = writeln!(
                    out,
                    "not sendable: {} {}: {}",
                    r.source, r.name, rejected.reason
                );
            }
            Packed::Empty => {}
        }
    }
}

/// A payload for a person: text encodings as text, CBOR as hex.
fn show(encoding: Encoding, payload: &[u8]) -> String {
    match encoding {
        Encoding::SenmlJson | Encoding::Influx => String::from_utf8_lossy(payload).into_owned(),
        Encoding::SenmlCbor => payload.iter().map(|b| format!("{b:02x}")).collect(),
    }
}
