//! The file system (§7.2 and u-blox's host library): open, write, seek,
//! read, close, list, delete; the data mode of a write; NVM.

use super::*;

fn ready() -> Harness {
    let mut h = Harness::ready(config());
    h.send("ATE0");
    h
}

/// `AT+FREAD`'s answer: `CONNECT <n>`, the bytes, `OK`.
fn read_answer(data: &[u8]) -> String {
    let mut s = format!("\r\nCONNECT {}\r\n", data.len());
    s.push_str(&String::from_utf8_lossy(data));
    s.push_str(OK);
    s
}

#[test]
fn the_notes_section_7_2_sequence_byte_for_byte() {
    let mut h = ready();
    h.send("AT+CMEE=2");
    assert_eq!(h.send("AT+FOPEN=\"postdata.txt\""), ok_with(&["+FOPEN: 1"]));
    assert_eq!(h.send("AT+FWRITE=1,11"), "\r\nCONNECT\r\n");
    // The data is not echoed, and `OK` inside it is data.
    assert_eq!(
        h.run(Input::Bytes(b"hello world")),
        ok_with(&["+FWRITE: 11,11"])
    );
    assert_eq!(h.send("AT+FSEEK=1,0"), OK);
    assert_eq!(h.send("AT+FREAD=1"), read_answer(b"hello world"));
    assert_eq!(h.send("AT+FCLOSE=1"), OK);
    assert_eq!(
        h.send("AT+ULSTFILE=2,\"postdata.txt\""),
        ok_with(&["+ULSTFILE: 11"])
    );
}

#[test]
fn binary_writes_at_the_position_hex_writes_and_partial_reads() {
    let mut h = ready();
    h.send("AT+FOPEN=\"bin\",0");
    let nasty: &[u8] = b"\r\nOK\r\n\0\"\xff";
    assert_eq!(
        h.send(&format!("AT+FWRITE=1,{}", nasty.len())),
        "\r\nCONNECT\r\n"
    );
    assert_eq!(
        h.run(Input::Bytes(nasty)),
        ok_with(&[&format!("+FWRITE: {0},{0}", nasty.len())])
    );
    // ubxlib's form: hex characters, `+FWRITE` counts bytes.
    assert_eq!(h.send("AT+FWRITEHEX=1,4"), "\r\nCONNECT\r\n");
    assert_eq!(
        h.run(Input::Bytes(b"A1b2")),
        ok_with(&[&format!("+FWRITE: 2,{}", nasty.len() + 2)])
    );
    // Overwrite in the middle.
    h.send("AT+FSEEK=1,2");
    h.send("AT+FWRITE=1,2");
    h.run(Input::Bytes(b"ko"));
    h.send("AT+FSEEK=1,0");
    assert_eq!(h.send("AT+FREAD=1,4"), read_answer(b"\r\nko"));
    let mut want = b"\r\nko\r\n\0\"\xff\xa1\xb2".to_vec();
    assert_eq!(h.m.nvm.files.get("bin"), Some(&want[..]));
    want.drain(..4);
    let mut answer = format!("\r\nCONNECT {}\r\n", want.len()).into_bytes();
    answer.extend_from_slice(&want);
    answer.extend_from_slice(OK.as_bytes());
    let sent: Vec<u8> =
        h.m.handle(Input::Bytes(b"AT+FREAD=1\r"), h.now)
            .into_iter()
            .filter_map(|e| match e {
                Effect::Send(b) => Some(b),
                _ => None,
            })
            .flatten()
            .collect();
    assert_eq!(sent, answer);
    // At the end: nothing left.
    assert_eq!(h.send("AT+FREAD=1"), read_answer(b""));
}

#[test]
fn listing_free_space_open_files_and_deleting() {
    let mut h = ready();
    assert_eq!(h.send("AT+ULSTFILE=0"), OK, "no files: no line");
    assert_eq!(
        h.send("AT+ULSTFILE=1"),
        ok_with(&[&format!("+ULSTFILE: {}", files_capacity())])
    );
    h.send("AT+FOPEN=\"b.txt\"");
    h.send("AT+FOPEN=\"a.txt\"");
    assert_eq!(
        h.send("AT+FOPEN?"),
        ok_with(&["+FOPEN: \"b.txt\",1", "+FOPEN: \"a.txt\",2"])
    );
    assert_eq!(
        h.send("AT+ULSTFILE"),
        ok_with(&["+ULSTFILE: \"a.txt\",\"b.txt\""])
    );
    // ubxlib deletes through an open handle, which closes it.
    assert_eq!(h.send("AT+FDELETE=1"), OK);
    assert_eq!(h.send("AT+FOPEN?"), ok_with(&["+FOPEN: \"a.txt\",2"]));
    assert_eq!(h.send("AT+FDELETE=\"a.txt\""), OK);
    assert_eq!(h.send("AT+ULSTFILE=0"), OK);
    assert_eq!(h.send("AT+FOPEN?"), OK);
}

fn files_capacity() -> usize {
    crate::module::files::CAPACITY
}

#[test]
fn errors_in_every_cmee_form() {
    let mut h = ready();
    h.send("AT+CMEE=1");
    for (line, code) in [
        ("AT+FCLOSE=1", 50),
        ("AT+FREAD=3", 50),
        ("AT+FOPEN=\"dir/x\"", 50),
        ("AT+FOPEN=\"x\",1", 50),
        ("AT+ULSTFILE=2,\"missing\"", 22),
        ("AT+FDELETE=\"missing\"", 22),
        ("AT+FWRITE=1,5", 50),
    ] {
        assert_eq!(
            h.send(line),
            format!("\r\n+CME ERROR: {code}\r\n"),
            "{line}"
        );
    }
    h.send("AT+FOPEN=\"x\"");
    assert_eq!(
        h.send("AT+FOPEN=\"x\""),
        "\r\n+CME ERROR: 3\r\n",
        "open once"
    );
    assert_eq!(
        h.send("AT+FSEEK=1,1"),
        "\r\n+CME ERROR: 50\r\n",
        "past the end"
    );
    assert_eq!(h.send("AT+FWRITEHEX=1,3"), "\r\n+CME ERROR: 50\r\n", "odd");
    for name in ["y1", "y2", "y3"] {
        h.send(&format!("AT+FOPEN=\"{name}\""));
    }
    assert_eq!(h.send("AT+FOPEN=\"y4\""), "\r\n+CME ERROR: 3\r\n", "4 open");
    h.send("AT+CMEE=2");
    assert_eq!(h.send("AT+FWRITEHEX=1,2"), "\r\nCONNECT\r\n");
    assert_eq!(
        h.run(Input::Bytes(b"zz")),
        "\r\n+CME ERROR: incorrect parameters\r\n"
    );
    // The misspelled note commands stay unknown.
    assert_eq!(h.send("AT+FREADX=1"), ERROR);
}

#[test]
fn a_full_file_system_refuses_the_write_after_its_data() {
    let mut h = ready();
    let mut files = FileStore::default();
    files.replace("big", vec![0; files_capacity() - 3]).unwrap();
    h.m.nvm.files = files;
    h.send("AT+CMEE=2");
    h.send("AT+FOPEN=\"small\"");
    h.send("AT+FWRITE=1,4");
    assert_eq!(
        h.run(Input::Bytes(b"abcd")),
        "\r\n+CME ERROR: memory full\r\n"
    );
    assert_eq!(
        h.send("AT+ULSTFILE=2,\"small\""),
        ok_with(&["+ULSTFILE: 0"])
    );
    h.send("AT+FWRITE=1,3");
    assert_eq!(h.run(Input::Bytes(b"abc")), ok_with(&["+FWRITE: 3,3"]));
    assert_eq!(h.send("AT+ULSTFILE=1"), ok_with(&["+ULSTFILE: 0"]));
}

#[test]
fn files_are_nvm_and_survive_a_reboot_but_handles_do_not() {
    let mut h = ready();
    h.send("AT+FOPEN=\"keep\"");
    h.take_effects();
    h.send("AT+FWRITE=1,3");
    h.run(Input::Bytes(b"abc"));
    let saves = h.saves();
    assert_eq!(saves.len(), 1, "one NVM write per file write");
    assert_eq!(saves[0].files.get("keep"), Some(&b"abc"[..]));
    h.control(Control::Reboot);
    let boot = h.timing().boot;
    h.advance(boot);
    h.send("ATE0");
    assert_eq!(h.send("AT+FOPEN?"), OK, "handles are volatile");
    assert_eq!(h.send("AT+FOPEN=\"keep\""), ok_with(&["+FOPEN: 1"]));
    assert_eq!(h.send("AT+FREAD=1"), read_answer(b"abc"));
    // A module started on that NVM has the file too.
    let h2 = Harness::ready_with_nvm(config(), saves[0].clone());
    assert_eq!(h2.m.nvm.files.get("keep"), Some(&b"abc"[..]));
}

#[test]
fn urcs_wait_while_a_write_reads_its_data() {
    let mut h = ready();
    h.send("AT+FOPEN=\"f\"");
    h.send("AT+FWRITE=1,2");
    h.m.urc("+TEST: 1".into());
    assert_eq!(h.run(Input::Bytes(b"a")), "");
    let mut want = ok_with(&["+FWRITE: 2,2"]);
    want.push_str(&urcs(&["+TEST: 1"]));
    assert_eq!(h.run(Input::Bytes(b"b")), want);
}
