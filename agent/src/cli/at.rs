//! `edge-agent at`: an AT console for engineers in the field, through the
//! same engine the agent uses (so what works here works in the agent).

use std::io::Write;
use std::time::Duration;

use anyhow::Context;
use edge_agent::config::LoadedConfig;
use edge_agent::modem::at::{AtError, Raw};
use edge_agent::modem::ModemLink;
use tokio::io::{AsyncBufReadExt, BufReader};

use super::args::{ConfigArg, LogFormat};
use super::setup;

/// Runs `at`: the console until the end of stdin, then `linger` more of URCs.
pub fn run(args: &ConfigArg, linger: Duration, log: LogFormat) -> anyhow::Result<()> {
    let loaded = setup::load(&args.config, log)?;
    setup::runtime()?.block_on(console(&loaded, linger))
}

async fn console(loaded: &LoadedConfig, linger: Duration) -> anyhow::Result<()> {
    let link = ModemLink::open(&loaded.config.modem.link_settings()).await?;
    let at = link.client.clone();
    let mut urcs = at.subscribe();
    let printer = tokio::spawn(async move {
        while let Some((_, line)) = urcs.recv_line().await {
            println!("urc: {line}");
        }
    });

    at.sync()
        .await
        .with_context(|| format!("the module on {} does not answer AT", link.path.display()))?;
    eprintln!(
        "connected to the module on {}; one AT command per line, Ctrl-D to quit",
        link.path.display()
    );

    let mut lines = BufReader::new(tokio::io::stdin()).lines();
    while let Some(line) = lines.next_line().await.context("cannot read stdin")? {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match at.send_raw(&Raw::new(line)).await {
            Ok(answer) => {
                for l in &answer.lines {
                    println!("{}", l.display());
                }
                if let Some(stream) = &answer.stream {
                    println!("{}", String::from_utf8_lossy(stream));
                }
                println!("OK");
            }
            Err(AtError::PortClosed) => anyhow::bail!("the modem port was closed"),
            Err(e) => println!("{}", describe(&e)),
        }
        let _ = std::io::stdout().flush();
    }
    tokio::time::sleep(linger).await;
    printer.abort();
    Ok(())
}

/// The error as an engineer reads it at a terminal: the module's own words.
fn describe(e: &AtError) -> String {
    match e {
        AtError::Error { .. } => "ERROR".into(),
        AtError::Cme { error, .. } => error.to_string(),
        AtError::Cms { error, .. } => format!("+CMS ERROR: {error}"),
        other => format!("error: {other}"),
    }
}
