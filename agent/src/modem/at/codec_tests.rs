//! Table-driven tests of the codec against the response forms of the
//! application note's tables, and a property test that chunking the input
//! never changes what comes out.

use std::borrow::Cow;

use proptest::prelude::*;

use super::*;

fn expect(cmd: &str, prefix: Option<&'static str>) -> Expect {
    Expect {
        echo: cmd.as_bytes().to_vec(),
        response_prefix: prefix.map(|p| Cow::Borrowed(p.as_bytes())),
        payload: None,
        prompt: None,
    }
}

fn with_payload(mut e: Expect, prefix: &'static str, counted: &[(usize, bool)]) -> Expect {
    e.payload = Some(PayloadSpec {
        prefix: Cow::Borrowed(prefix.as_bytes()),
        counted: counted
            .iter()
            .map(|&(length_field, hex)| Counted { length_field, hex })
            .collect(),
    });
    e
}

fn with_prompt(mut e: Expect, p: Prompt) -> Expect {
    e.prompt = Some(p);
    e
}

/// Decodes everything decodable from `input` in one go.
fn decode_all(expect: Option<Expect>, input: &[u8]) -> (Vec<Item>, usize) {
    let mut d = Decoder::new();
    d.set_expect(expect);
    let mut items = Vec::new();
    let mut used = 0;
    while let Some((item, n)) = d.decode(&input[used..]) {
        items.push(item);
        used += n;
    }
    (items, used)
}

/// Feeds `input` in the given chunk sizes, as a serial port would.
fn decode_chunked(expect: Option<Expect>, input: &[u8], cuts: &[usize]) -> Vec<Item> {
    let mut d = Decoder::new();
    d.set_expect(expect);
    let mut items = Vec::new();
    let mut buf = Vec::new();
    let mut pos = 0;
    let mut cuts = cuts.iter().copied().cycle();
    while pos < input.len() {
        let n = cuts.next().unwrap_or(1).clamp(1, input.len() - pos);
        buf.extend_from_slice(&input[pos..pos + n]);
        pos += n;
        let mut used = 0;
        while let Some((item, k)) = d.decode(&buf[used..]) {
            items.push(item);
            used += k;
        }
        buf.drain(..used);
    }
    items
}

/// Stream data comes in pieces that follow the chunking; only their
/// concatenation is meaningful.
fn merge_stream(items: Vec<Item>) -> Vec<Item> {
    let mut out: Vec<Item> = Vec::new();
    for item in items {
        if let (Item::StreamData(new), Some(Item::StreamData(prev))) = (&item, out.last_mut()) {
            prev.extend_from_slice(new);
            continue;
        }
        out.push(item);
    }
    out
}

fn info(s: &str) -> Item {
    Item::Info(Line::text(s.as_bytes()))
}
fn urc(s: &str) -> Item {
    Item::Urc(Line::text(s.as_bytes()))
}
fn echo(s: &str) -> Item {
    Item::Echo(s.as_bytes().to_vec())
}
/// An answer line whose counted payloads are `payloads`, located by plain
/// substring search (an oracle independent of the decoder's field walk).
fn counted(bytes: &[u8], payloads: &[&[u8]]) -> Item {
    let mut from = 0;
    let mut ranges = Vec::new();
    for p in payloads {
        let quoted = [b"\"".as_slice(), p, b"\"".as_slice()].concat();
        let at = from
            + bytes[from..]
                .windows(quoted.len())
                .position(|w| w == quoted.as_slice())
                .expect("payload in line");
        ranges.push(at + 1..at + 1 + p.len());
        from = at + quoted.len();
    }
    Item::Info(Line {
        bytes: bytes.to_vec(),
        counted: ranges,
    })
}

const OK: Item = Item::Final(Final::Ok);

struct Case {
    name: &'static str,
    expect: Option<Expect>,
    input: &'static [u8],
    items: Vec<Item>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            name: "echo, bare information line, OK (AT+CGMI)",
            expect: Some(expect("AT+CGMI", None)),
            input: b"AT+CGMI\r\r\nu-blox\r\n\r\nOK\r\n",
            items: vec![echo("AT+CGMI"), info("u-blox"), OK],
        },
        Case {
            name: "echo that lost its first bytes after a wake-up",
            expect: Some(expect("AT+CGSN", None)),
            input: b"+CGSN\r\r\n357862090033897\r\n\r\nOK\r\n",
            items: vec![echo("+CGSN"), info("357862090033897"), OK],
        },
        Case {
            name: "COPS read (§2.3)",
            expect: Some(expect("AT+COPS?", Some("+COPS"))),
            input: b"\r\n+COPS: 0,0,\"I TIM\",7\r\n\r\nOK\r\n",
            items: vec![info("+COPS: 0,0,\"I TIM\",7"), OK],
        },
        Case {
            name: "CGDCONT read with a space after a comma (§2.3)",
            expect: Some(expect("AT+CGDCONT?", Some("+CGDCONT"))),
            input: b"\r\n+CGDCONT: 1,\"IP\",\"apn_name\", \"10.40.50.500\",0,0,0,0,0\r\n\r\nOK\r\n",
            items: vec![
                info("+CGDCONT: 1,\"IP\",\"apn_name\", \"10.40.50.500\",0,0,0,0,0"),
                OK,
            ],
        },
        Case {
            name: "UMQTT read: many lines, blanks after commas (§6.1.1)",
            expect: Some(expect("AT+UMQTT?", Some("+UMQTT"))),
            input: b"\r\n+UMQTT: 0, \"357862090033897\"\r\n+UMQTT: 2, \"\", 1883\r\n+UMQTT: 9, 0, \"\"\r\n\r\nOK\r\n",
            items: vec![
                info("+UMQTT: 0, \"357862090033897\""),
                info("+UMQTT: 2, \"\", 1883"),
                info("+UMQTT: 9, 0, \"\""),
                OK,
            ],
        },
        Case {
            name: "sleep URCs around a vote's OK and while idle (§5.10.2)",
            expect: Some(expect("AT+USLPVOTE=0,0", Some("+USLPVOTE"))),
            input: b"\r\n+UUSLPURC: HIB 0\r\nAT+USLPVOTE=0,0\r\r\n+UUSLPURC: SLP2 1\r\n\r\nOK\r\n",
            items: vec![
                urc("+UUSLPURC: HIB 0"),
                echo("AT+USLPVOTE=0,0"),
                urc("+UUSLPURC: SLP2 1"),
                OK,
            ],
        },
        Case {
            name: "a sleep URC with no command pending",
            expect: None,
            input: b"\r\n+UUSLPURC: SLP2 0\r\n",
            items: vec![urc("+UUSLPURC: SLP2 0")],
        },
        Case {
            name: "URC with the awaited prefix between echo and answer (+CEREG: 1 during AT+CEREG?)",
            expect: Some(expect("AT+CEREG?", Some("+CEREG"))),
            input: b"AT+CEREG?\r\r\n+CEREG: 1\r\n\r\n+CEREG: 2,1\r\n\r\nOK\r\n",
            items: vec![echo("AT+CEREG?"), urc("+CEREG: 1"), info("+CEREG: 2,1"), OK],
        },
        Case {
            name: "URC with location right before OK, read answer with location",
            expect: Some(expect("AT+CEREG?", Some("+CEREG"))),
            input: b"\r\n+CEREG: 2,5,\"00C3\",\"0001A2B3\",7\r\n\r\n+CEREG: 5,\"00C3\",\"0001A2B3\",7\r\n\r\nOK\r\n",
            items: vec![
                info("+CEREG: 2,5,\"00C3\",\"0001A2B3\",7"),
                urc("+CEREG: 5,\"00C3\",\"0001A2B3\",7"),
                OK,
            ],
        },
        Case {
            name: "CSCON URC (one field) told from the CSCON read answer (two)",
            expect: Some(expect("AT+CSCON?", Some("+CSCON"))),
            input: b"\r\n+CSCON: 1\r\n\r\n+CSCON: 1,0\r\n\r\nOK\r\n",
            items: vec![urc("+CSCON: 1"), info("+CSCON: 1,0"), OK],
        },
        Case {
            name: "session resumption status told from the session data read (§3.4)",
            expect: Some(expect("AT+USECPRF=0,13,3", Some("+USECPRF"))),
            input: b"\r\n+USECPRF: 0,13,0,2\r\n\r\n+USECPRF: 0,13,3,\"AAEC\",4\r\n\r\nOK\r\n",
            items: vec![urc("+USECPRF: 0,13,0,2"), info("+USECPRF: 0,13,3,\"AAEC\",4"), OK],
        },
        Case {
            name: "session resumption status with +USECPRF during an unrelated command",
            expect: Some(expect("AT+UMQTTC=1", Some("+UMQTTC"))),
            input: b"\r\n+USECPRF: 1,13,0,2\r\n\r\n+UMQTTC: 1,1\r\n\r\nOK\r\n",
            items: vec![urc("+USECPRF: 1,13,0,2"), info("+UMQTTC: 1,1"), OK],
        },
        Case {
            name: "u-blox URC during an unrelated command",
            expect: Some(expect("AT+UMQTTC=1", Some("+UMQTTC"))),
            input: b"\r\n+UMQTTC: 1,1\r\n\r\nOK\r\n\r\n+UUMQTTC: 1,1\r\n",
            items: vec![info("+UMQTTC: 1,1"), OK, urc("+UUMQTTC: 1,1")],
        },
        Case {
            name: "ping URCs with blanks after commas, nothing pending (§2.4.1)",
            expect: None,
            input: b"\r\n+UUPING: 1, 32, \"www.google.com\", \"216.58.206.68\", 115, 62\r\n\r\n+UUPINGER: 8\r\n",
            items: vec![
                urc("+UUPING: 1, 32, \"www.google.com\", \"216.58.206.68\", 115, 62"),
                urc("+UUPINGER: 8"),
            ],
        },
        Case {
            name: "verbose CME error (AT+CMEE=2, §6.1.1)",
            expect: Some(expect("AT+UMNOPROF=100", None)),
            input: b"\r\n+CME ERROR: operation not allowed\r\n",
            items: vec![Item::Final(Final::CmeError(ErrorValue::Text(
                "operation not allowed".into(),
            )))],
        },
        Case {
            name: "numeric CME and CMS errors, ERROR, ABORTED",
            expect: Some(expect("AT+X", None)),
            input: b"\r\n+CME ERROR: 3\r\n\r\n+CMS ERROR: 500\r\n\r\nERROR\r\n\r\nABORTED\r\n",
            items: vec![
                Item::Final(Final::CmeError(ErrorValue::Code(3))),
                Item::Final(Final::CmsError(ErrorValue::Code(500))),
                Item::Final(Final::Error),
                Item::Final(Final::Aborted),
            ],
        },
        Case {
            name: "@ prompt after the echo, then the write's answer (§5.3.1)",
            expect: Some(with_prompt(expect("AT+USOWR=0,2", Some("+USOWR")), Prompt::At)),
            input: b"AT+USOWR=0,2\r\r\n@\r\n+USOWR: 0, 2\r\n\r\nOK\r\n",
            items: vec![
                echo("AT+USOWR=0,2"),
                Item::Prompt(Prompt::At),
                info("+USOWR: 0, 2"),
                OK,
            ],
        },
        Case {
            name: "> prompt after a URC, with a URC right behind it (§6.5)",
            expect: Some(with_prompt(
                expect("AT+UMQTTC=9,1,0,\"module/special\",21", Some("+UMQTTC")),
                Prompt::Greater,
            )),
            input: b"\r\n+CEREG: 5\r\n>\r\n+CSCON: 1\r\n",
            items: vec![
                urc("+CEREG: 5"),
                Item::Prompt(Prompt::Greater),
                urc("+CSCON: 1"),
            ],
        },
        Case {
            name: "noise before a prompt",
            expect: Some(with_prompt(expect("AT+USOST=0,\"1.2.3.4\",7,2", None), Prompt::At)),
            input: b"\x00\xff@",
            items: vec![Item::Garbage(b"\x00\xff".to_vec()), Item::Prompt(Prompt::At)],
        },
        Case {
            name: "prompt byte inside an answer line is not a prompt",
            expect: Some(with_prompt(expect("AT+UMQTTC=9,0,0,\"a>b\",1", Some("+UMQTTC")), Prompt::Greater)),
            input: b"AT+UMQTTC=9,0,0,\"a>b\",1\r\r\n>",
            items: vec![echo("AT+UMQTTC=9,0,0,\"a>b\",1"), Item::Prompt(Prompt::Greater)],
        },
        Case {
            name: "USORD payload with quotes, CR LF and OK inside (§5.4)",
            expect: Some(with_payload(expect("AT+USORD=0,10", Some("+USORD")), "+USORD:", &[(1, false)])),
            input: b"\r\n+USORD: 0,10,\"a\"\r\nOK\r\n\"b\"\r\n\r\nOK\r\n",
            items: vec![
                counted(b"+USORD: 0,10,\"a\"\r\nOK\r\n\"b\"", &[b"a\"\r\nOK\r\n\"b"]),
                OK,
            ],
        },
        Case {
            name: "USORF with blanks around fields and a counted payload (§5.12)",
            expect: Some(with_payload(expect("AT+USORF=0,5", Some("+USORF")), "+USORF:", &[(3, false)])),
            input: b"\r\n+USORF: 0, \"195.34.89.241\" , 7, 5, \"He\"l\n\"\r\n\r\nOK\r\n",
            items: vec![
                counted(b"+USORF: 0, \"195.34.89.241\" , 7, 5, \"He\"l\n\"", &[b"He\"l\n"]),
                OK,
            ],
        },
        Case {
            name: "USORF exactly as §5.7 writes it: blank before a comma",
            expect: Some(with_payload(expect("AT+USORF=0,2", Some("+USORF")), "+USORF:", &[(3, false)])),
            input: b"\r\n+USORF: 0,\"195.34.89.241\" ,7,2,\"12\"\r\n\r\nOK\r\n",
            items: vec![counted(b"+USORF: 0,\"195.34.89.241\" ,7,2,\"12\"", &[b"12"]), OK],
        },
        Case {
            name: "USORF binary datagram: NUL, 0xff, quotes, CR LF and OK inside",
            expect: Some(with_payload(expect("AT+USORF=1,64", Some("+USORF")), "+USORF:", &[(3, false)])),
            input: b"\r\n+USORF: 1,\"10.0.0.2\",5683,9,\"\0\"\r\nOK\r\n\xff\"\r\n\r\nOK\r\n",
            items: vec![
                counted(b"+USORF: 1,\"10.0.0.2\",5683,9,\"\0\"\r\nOK\r\n\xff\"", &[b"\0\"\r\nOK\r\n\xff"]),
                OK,
            ],
        },
        Case {
            name: "USORD: the echo, a +UUSORD URC, then the counted answer (§5.4)",
            expect: Some(with_payload(expect("AT+USORD=0,4", Some("+USORD")), "+USORD:", &[(1, false)])),
            input: b"AT+USORD=0,4\r\r\n+UUSORD: 0,4\r\n\r\n+USORD: 0,4,\"\0\0\"\"\"\r\n\r\nOK\r\n",
            items: vec![
                echo("AT+USORD=0,4"),
                urc("+UUSORD: 0,4"),
                counted(b"+USORD: 0,4,\"\0\0\"\"\"", &[b"\0\0\"\""]),
                OK,
            ],
        },
        Case {
            name: "USORD of nothing: no payload field (§5.4 scenario 3)",
            expect: Some(with_payload(expect("AT+USORD=0,0", Some("+USORD")), "+USORD:", &[(1, false)])),
            input: b"\r\n+USORD: 0,0\r\n\r\nOK\r\n\r\n+UUSOCL: 0\r\n",
            items: vec![counted(b"+USORD: 0,0", &[]), OK, urc("+UUSOCL: 0")],
        },
        Case {
            name: "USOWR: a URC before the @ prompt, then the sent count (§5.3.1)",
            expect: Some(with_prompt(expect("AT+USOWR=0,2", Some("+USOWR")), Prompt::At)),
            input: b"\r\n+UUSORD: 1,3\r\n@",
            items: vec![urc("+UUSORD: 1,3"), Item::Prompt(Prompt::At)],
        },
        Case {
            name: "MQTT read of a binary message with quotes and CR (§6.5)",
            expect: Some(with_payload(
                expect("AT+UMQTTC=6,1", Some("+UMQTTC")),
                "+UMQTTC:",
                &[(3, false), (5, false)],
            )),
            input: b"\r\n+UMQTTC: 6,0,35,14,\"module/special\",21,\"\"this is an example\"\r\"\r\n\r\nOK\r\n",
            items: vec![
                counted(
                    b"+UMQTTC: 6,0,35,14,\"module/special\",21,\"\"this is an example\"\r\"",
                    &[b"module/special", b"\"this is an example\"\r"],
                ),
                OK,
            ],
        },
        Case {
            name: "MQTT read in hex mode: two characters per byte (§6.4)",
            expect: Some(with_payload(
                expect("AT+UMQTTC=6,1,1", Some("+UMQTTC")),
                "+UMQTTC:",
                &[(3, false), (5, true)],
            )),
            input: b"\r\n+UMQTTC: 6,0,14,10,\"module/hex\", 4, \"ABCD3031\"\r\n\r\nOK\r\n",
            items: vec![
                counted(
                    b"+UMQTTC: 6,0,14,10,\"module/hex\", 4, \"ABCD3031\"",
                    &[b"module/hex", b"ABCD3031"],
                ),
                OK,
            ],
        },
        Case {
            name: "HTTP direct link: CONNECT stream up to DISCONNECT, then OK and the URC (§7.1)",
            expect: Some(expect("AT+UHTTPC=0,1,\"/\",\"get.ffs\"", None)),
            input: b"\r\nCONNECT\r\nHTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nOK\r\nhi\r\nDISCONNECT\r\n\r\nOK\r\n\r\n+UUHTTPCR: 0,1,1\r\n",
            items: vec![
                Item::StreamStart(None),
                Item::StreamData(b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nOK\r\nhi".to_vec()),
                Item::StreamEnd,
                OK,
                urc("+UUHTTPCR: 0,1,1"),
            ],
        },
        Case {
            name: "CONNECT with an announced length (§7.2 FREAD)",
            expect: Some(expect("AT+FREAD=1", None)),
            input: b"\r\nCONNECT 11\r\nhello\r\nOK\r\n\r\nOK\r\n",
            items: vec![
                Item::StreamStart(Some(11)),
                Item::StreamData(b"hello\r\nOK\r\n".to_vec()),
                Item::StreamEnd,
                OK,
            ],
        },
        Case {
            name: "CONNECT as the data prompt of a file write (§7.2 FWRITE)",
            expect: Some(with_prompt(expect("AT+FWRITE=1,11", Some("+FWRITE")), Prompt::Connect)),
            input: b"\r\nCONNECT\r\n",
            items: vec![Item::Prompt(Prompt::Connect)],
        },
        Case {
            name: "noise after a reset, then a real answer",
            expect: Some(expect("AT", None)),
            input: b"\x00\xfe\xff\r\n\r\nOK\r\n",
            items: vec![Item::Garbage(b"\x00\xfe\xff".to_vec()), OK],
        },
        Case {
            name: "socket list: one answer line per socket (§5.10.1)",
            expect: Some(expect("AT+USOCR?", Some("+USOCR"))),
            input: b"\r\n+USOCR: 0,6,1\r\n+USOCR: 1,6,0\r\n+USOCR: 2,17,1\r\n\r\nOK\r\n",
            items: vec![
                info("+USOCR: 0,6,1"),
                info("+USOCR: 1,6,0"),
                info("+USOCR: 2,17,1"),
                OK,
            ],
        },
        Case {
            name: "sleep URCs while idle (§5.10.2)",
            expect: None,
            input: b"\r\n+UUSLPURC: SLP2 1\r\n\r\n+UUSLPURC: HIB 0\r\n\r\n+UUSORD: 0,30\r\n",
            items: vec![
                urc("+UUSLPURC: SLP2 1"),
                urc("+UUSLPURC: HIB 0"),
                urc("+UUSORD: 0,30"),
            ],
        },
    ]
}

#[test]
fn every_response_form_in_the_note_decodes_as_documented() {
    for case in cases() {
        let (items, used) = decode_all(case.expect.clone(), case.input);
        assert_eq!(items, case.items, "case: {}", case.name);
        let leftover = &case.input[used..];
        assert!(
            leftover.iter().all(|b| matches!(b, b'\r' | b'\n')),
            "case {}: undecoded bytes {:?}",
            case.name,
            String::from_utf8_lossy(leftover)
        );
    }
}

#[test]
fn an_incomplete_item_asks_for_more_and_leaves_the_state_alone() {
    let e = with_payload(
        expect("AT+USORD=0,10", Some("+USORD")),
        "+USORD:",
        &[(1, false)],
    );
    let mut d = Decoder::new();
    d.set_expect(Some(e));
    assert_eq!(d.decode(b"\r\n+USORD: 0,10,\"a\"\r\nOK"), None);
    assert_eq!(d.decode(b"AT+USORD=0,1"), None);
    assert_eq!(d.decode(b"\r\nCONNECT\r"), None);
    assert_eq!(d.decode(b""), None);
}

#[test]
fn a_runaway_line_is_cut_into_garbage() {
    let long = vec![b'x'; MAX_LINE + 10];
    let (items, used) = decode_all(None, &long);
    assert_eq!(items, vec![Item::Garbage(vec![b'x'; MAX_LINE])]);
    assert_eq!(used, MAX_LINE);
}

#[test]
fn a_counted_field_with_a_wrong_shape_falls_back_to_a_plain_line() {
    let e = with_payload(
        expect("AT+USORD=0,10", Some("+USORD")),
        "+USORD:",
        &[(1, false)],
    );
    let (items, _) = decode_all(Some(e), b"\r\n+USORD: 0,0\r\n\r\nOK\r\n");
    assert_eq!(items, vec![info("+USORD: 0,0"), OK]);
}

/// Streams that mix every kind of item under one expectation, for chunking.
fn chunking_fixtures() -> Vec<(Option<Expect>, Vec<u8>)> {
    let mut fixtures: Vec<(Option<Expect>, Vec<u8>)> = cases()
        .into_iter()
        .map(|c| (c.expect, c.input.to_vec()))
        .collect();
    let mut long = Vec::new();
    long.extend_from_slice(b"AT+USORD=0,12\r\r\n+CEREG: 1\r\n");
    long.extend_from_slice(b"\r\n+USORD: 0,12,\"\"\r\n\r\nOK\r\n\x00\xff\"\r\n");
    long.extend_from_slice(b"\r\n+UUSORD: 0,0\r\nOK\r\n");
    long.extend_from_slice(b"\r\nCONNECT\r\nabc\r\nDISCONNEC\r\nDISCONNECT\r\n\r\nOK\r\n");
    long.extend_from_slice(&[b'y'; MAX_LINE + 3]);
    long.extend_from_slice(b"\r\n+CME ERROR: SIM busy\r\n");
    fixtures.push((
        Some(with_payload(
            expect("AT+USORD=0,12", Some("+USORD")),
            "+USORD:",
            &[(1, false)],
        )),
        long,
    ));
    fixtures
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn cutting_a_stream_into_random_chunks_yields_the_same_items(
        fixture in 0usize..64,
        cuts in proptest::collection::vec(1usize..24, 1..40),
    ) {
        let fixtures = chunking_fixtures();
        let (expect, input) = &fixtures[fixture % fixtures.len()];
        let (whole, _) = decode_all(expect.clone(), input);
        let chunked = decode_chunked(expect.clone(), input, &cuts);
        prop_assert_eq!(merge_stream(whole), merge_stream(chunked));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_always_make_progress(
        input in proptest::collection::vec(any::<u8>(), 0..2048),
        cuts in proptest::collection::vec(1usize..64, 1..16),
    ) {
        let e = with_prompt(
            with_payload(expect("AT+USORF=0,5", Some("+USORF")), "+USORF:", &[(3, false)]),
            Prompt::At,
        );
        let (whole, _) = decode_all(Some(e.clone()), &input);
        let chunked = decode_chunked(Some(e), &input, &cuts);
        prop_assert_eq!(merge_stream(whole), merge_stream(chunked));
    }
}
