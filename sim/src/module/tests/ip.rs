//! DNS (`+UDNSRN`) and ping (`+UPING`) as jobs, and job reports from before
//! a reboot.

use std::net::IpAddr;

use super::*;

// ---- DNS and ping ----------------------------------------------------------

#[test]
fn dns_answers_ok_then_a_urc() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    assert_eq!(h.send("AT+UDNSRN=0,\"broker.test\""), OK);
    let (id, job) = h.started_job();
    assert_eq!(
        job,
        Job::Resolve {
            name: "broker.test".into(),
            delay: h.timing().dns
        }
    );
    let addr: IpAddr = "192.0.2.7".parse().unwrap();
    assert_eq!(
        h.job(id, JobEvent::Resolved(Some(addr))),
        urcs(&["+UUDNSRN: \"192.0.2.7\""])
    );
    // A second event for the same job is stale.
    assert_eq!(h.job(id, JobEvent::Resolved(Some(addr))), "");

    // Failure form.
    h.send("AT+UDNSRN=0, \"nowhere.test\"");
    let (id, _) = h.started_job();
    assert_eq!(
        h.job(id, JobEvent::Resolved(None)),
        urcs(&["+UUDNSRN: \"\""])
    );

    // Reverse look-up, extra parameters ignored.
    assert_eq!(h.send("AT+UDNSRN=1,\"127.0.0.1\",1"), OK);
    let (id, job) = h.started_job();
    assert!(matches!(job, Job::Reverse { .. }));
    assert_eq!(
        h.job(id, JobEvent::Reversed(Some("localhost".into()))),
        urcs(&["+UUDNSRN: \"localhost\""])
    );

    h.send("AT+CMEE=1");
    for bad in [
        "AT+UDNSRN=2,\"x\"",
        "AT+UDNSRN=1,\"not-an-ip\"",
        "AT+UDNSRN=0",
        "AT+UDNSRN=0,\"\"",
    ] {
        assert_eq!(h.send(bad), "\r\n+CME ERROR: 50\r\n", "{bad}");
    }
}

#[test]
fn dns_fails_by_urc_when_not_registered() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h.send("AT+CFUN=0");
    assert_eq!(
        h.send("AT+UDNSRN=0,\"localhost\""),
        format!("{OK}{}", urcs(&["+UUDNSRN: \"\""]))
    );
    // Registration lost while the look-up runs: failure too.
    h.send("AT+CFUN=1");
    let t = h.timing().registration;
    h.advance(t);
    h.send("AT+UDNSRN=0,\"localhost\"");
    let (id, _) = h.started_job();
    h.send("AT+CFUN=0");
    assert_eq!(
        h.job(id, JobEvent::Resolved(Some("127.0.0.1".parse().unwrap()))),
        urcs(&["+UUDNSRN: \"\""])
    );
}

#[test]
fn ping_reports_each_reply() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    assert_eq!(h.send("AT+UPING=\"www.google.com\""), OK);
    let (id, job) = h.started_job();
    assert_eq!(
        job,
        Job::Ping {
            host: "www.google.com".into(),
            resolve_delay: h.timing().dns,
            count: 4,
            rtt: h.timing().ping_rtt
        }
    );
    assert_eq!(
        h.job(
            id,
            JobEvent::Resolved(Some("216.58.206.68".parse().unwrap()))
        ),
        ""
    );
    for seq in 1..=4 {
        assert_eq!(
            h.job(id, JobEvent::PingReply { seq }),
            urcs(&[&format!(
                "+UUPING: {seq},32,\"www.google.com\",\"216.58.206.68\",64,50"
            )])
        );
    }
    assert_eq!(h.m.snapshot().pending_jobs, 0);

    // Parameters: count, size, timeout, ttl; a literal needs no DNS time.
    assert_eq!(h.send("AT+UPING=\"192.0.2.1\",2,100,1000,10"), OK);
    let (id, job) = h.started_job();
    assert!(
        matches!(job, Job::Ping { count: 2, resolve_delay, .. } if resolve_delay == Duration::ZERO)
    );
    h.job(id, JobEvent::Resolved(Some("192.0.2.1".parse().unwrap())));
    assert_eq!(
        h.job(id, JobEvent::PingReply { seq: 1 }),
        urcs(&["+UUPING: 1,100,\"192.0.2.1\",\"192.0.2.1\",10,50"])
    );
    // Still running: a second ping is refused.
    h.send("AT+CMEE=1");
    assert_eq!(h.send("AT+UPING=\"192.0.2.1\""), "\r\n+CME ERROR: 3\r\n");
    h.job(id, JobEvent::PingReply { seq: 2 });
    for bad in [
        "AT+UPING=\"x\",0",
        "AT+UPING=\"x\",65",
        "AT+UPING=\"x\",4,3",
        "AT+UPING=\"x\",4,32,5",
        "AT+UPING=\"x\",4,32,1000,0",
        "AT+UPING=x",
        "AT+UPING=\"\"",
        "AT+UPING=\"x\",4,32,1000,64,1",
    ] {
        assert_eq!(h.send(bad), "\r\n+CME ERROR: 50\r\n", "{bad}");
    }
}

#[test]
fn ping_errors() {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h.send("AT+UPING=\"nowhere.test\"");
    let (id, _) = h.started_job();
    assert_eq!(h.job(id, JobEvent::Resolved(None)), urcs(&["+UUPINGER: 8"]));
    assert!(h.take_effects().contains(&Effect::CancelJob(id)));

    // Registration lost mid-ping: error 17 and the job is cancelled.
    h.send("AT+UPING=\"localhost\"");
    let (id, _) = h.started_job();
    h.job(id, JobEvent::Resolved(Some("127.0.0.1".parse().unwrap())));
    h.job(id, JobEvent::PingReply { seq: 1 });
    h.send("AT+CFUN=0");
    assert_eq!(
        h.job(id, JobEvent::PingReply { seq: 2 }),
        urcs(&["+UUPINGER: 17"])
    );
    assert!(h.take_effects().contains(&Effect::CancelJob(id)));

    // Not registered at all: OK, then error 17.
    assert_eq!(
        h.send("AT+UPING=\"localhost\""),
        format!("{OK}{}", urcs(&["+UUPINGER: 17"]))
    );
    assert!(h
        .take_effects()
        .iter()
        .all(|e| !matches!(e, Effect::StartJob(..))));
}

#[test]
fn jobs_from_before_a_reboot_are_ignored() {
    let mut h = Harness::ready(config());
    h.send("AT+UDNSRN=0,\"localhost\"");
    let (id, _) = h.started_job();
    h.control(Control::Reboot);
    assert!(h.take_effects().contains(&Effect::CancelAllJobs));
    let boot = h.timing().boot;
    h.advance(boot);
    assert_eq!(
        h.job(id, JobEvent::Resolved(Some("127.0.0.1".parse().unwrap()))),
        ""
    );
}
