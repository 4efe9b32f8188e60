//! `edge-agent modem info`: boot the module and say who and where it is.

use anyhow::Context;
use edge_agent::config::LoadedConfig;
use edge_agent::modem::{self, ModemLink};

use super::args::{ConfigArg, LogFormat};
use super::setup;

/// Runs `modem info`.
pub fn info(args: &ConfigArg, log: LogFormat) -> anyhow::Result<()> {
    let loaded = setup::load(&args.config, log)?;
    setup::runtime()?.block_on(boot_and_print(&loaded))
}

async fn boot_and_print(loaded: &LoadedConfig) -> anyhow::Result<()> {
    let modem_config = &loaded.config.modem;
    let link = ModemLink::open(&modem_config.link_settings()).await?;
    let settings = modem_config.boot_settings();
    let info = modem::boot(&link.client, &settings)
        .await
        .with_context(|| format!("cannot bring up the module on {}", link.path.display()))?;
    let id = &info.identity;
    let unknown = || "(none)".to_string();
    println!("port:         {}", link.path.display());
    println!("manufacturer: {}", id.manufacturer);
    println!("model:        {}", id.model);
    println!("firmware:     {}", id.firmware);
    println!("IMEI:         {}", id.imei);
    println!("registration: {}", info.registration.describe());
    println!(
        "operator:     {}",
        info.operator.clone().unwrap_or_else(unknown)
    );
    println!(
        "address:      {}",
        info.address.clone().unwrap_or_else(unknown)
    );
    if info.reconfigured {
        println!(
            "note:         the module's MNO profile or APN was updated to match the configuration"
        );
    }
    Ok(())
}
