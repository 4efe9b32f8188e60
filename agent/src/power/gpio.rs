//! A pulse on one line of a Linux GPIO character device (`/dev/gpiochipN`),
//! through the kernel's GPIO v2 uAPI (Linux 5.10+) as the `gpiocdev` crate
//! speaks it: request the line as an output that starts inactive, set it
//! active, wait, set it inactive, drop the request (which releases the line).
//!
//! The kernel's `gpio-sim` would let a test drive a real chip, but it needs a
//! kernel with GPIO and configfs support (`CONFIG_GPIOLIB`, `CONFIG_GPIO_SIM`,
//! `CONFIG_CONFIGFS_FS`), which the build machines' kernels lack. So the
//! request the pulse makes and the error paths are tested here; the ioctls
//! themselves are `gpiocdev`'s, tested by its authors against `gpio-sim`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use gpiocdev::line::Value;
use gpiocdev::request::{Builder, Request};

/// The consumer name the kernel shows for the line (`gpioinfo`).
pub const CONSUMER: &str = "edge-agent-wake";

/// The pulse could not be made.
#[derive(Debug, thiserror::Error)]
pub enum GpioError {
    #[error("GPIO chip {} does not exist (modem.power.wake.chip)", path.display())]
    NoDevice { path: PathBuf },
    #[error("cannot open GPIO chip {}: {source}", path.display())]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot request line {line} of {} as an output: {source}", path.display())]
    Request {
        path: PathBuf,
        line: u32,
        source: gpiocdev::Error,
    },
    #[error("cannot set line {line} of {}: {source}", path.display())]
    Set {
        path: PathBuf,
        line: u32,
        source: gpiocdev::Error,
    },
}

/// The request for `line` of `chip` as an output. Its first value is
/// inactive, said rather than left to the kernel's default, so requesting
/// the line never pulses it; `active_low` inverts the line.
fn line_request(chip: &Path, line: u32, active_low: bool) -> Builder {
    let mut builder = Request::builder();
    builder
        .on_chip(chip)
        .with_consumer(CONSUMER)
        .with_line(line)
        .as_output(Value::Inactive);
    if active_low {
        builder.as_active_low();
    }
    builder
}

/// Sorts a failed request by where it failed: the chip's path (missing, or
/// not openable) or the line's request on a chip that opened.
fn request_error(chip: &Path, line: u32, error: gpiocdev::Error) -> GpioError {
    match error {
        gpiocdev::Error::Os(errno) => {
            let source = std::io::Error::from_raw_os_error(errno.0);
            if source.kind() == std::io::ErrorKind::NotFound {
                GpioError::NoDevice {
                    path: chip.to_path_buf(),
                }
            } else {
                GpioError::Open {
                    path: chip.to_path_buf(),
                    source,
                }
            }
        }
        // Not a GPIO chip (checked before any ioctl), or the kernel's answer
        // to the request itself.
        source => GpioError::Request {
            path: chip.to_path_buf(),
            line,
            source,
        },
    }
}

/// Holds `line` of `chip` active for `pulse`, then inactive, then releases
/// it. Blocks the calling thread for the pulse: run it off the runtime.
pub fn pulse_blocking(
    chip: &Path,
    line: u32,
    active_low: bool,
    pulse: Duration,
) -> Result<(), GpioError> {
    let request = line_request(chip, line, active_low)
        .request()
        .map_err(|e| request_error(chip, line, e))?;
    let set = |value: Value| {
        request
            .set_lone_value(value)
            .map_err(|source| GpioError::Set {
                path: chip.to_path_buf(),
                line,
                source,
            })
    };
    set(Value::Active)?;
    std::thread::sleep(pulse);
    set(Value::Inactive)
}

#[cfg(test)]
mod tests {
    use gpiocdev::line::Direction;

    use super::*;

    #[test]
    fn the_request_asks_for_one_output_line_starting_inactive() {
        let config = line_request(Path::new("/dev/gpiochip0"), 17, true).config();
        assert_eq!(config.chip(), Path::new("/dev/gpiochip0"));
        assert_eq!(config.lines(), &vec![17]);
        let line = config.line_config(17).unwrap();
        assert_eq!(line.direction, Some(Direction::Output));
        assert_eq!(line.value, Some(Value::Inactive));
        assert!(line.active_low);

        let high = line_request(Path::new("/dev/gpiochip0"), 3, false).config();
        assert!(!high.line_config(3).unwrap().active_low);
        assert_eq!(
            high.line_config(3).unwrap().direction,
            Some(Direction::Output)
        );
    }

    #[test]
    fn a_missing_chip_is_named() {
        let err = pulse_blocking(
            Path::new("/dev/gpiochip-edge-agent-test"),
            1,
            false,
            Duration::ZERO,
        )
        .unwrap_err();
        assert!(matches!(err, GpioError::NoDevice { .. }), "{err:?}");
        assert!(
            err.to_string().contains("/dev/gpiochip-edge-agent-test"),
            "{err}"
        );
    }

    #[test]
    fn a_chip_path_that_cannot_be_opened_is_named_with_the_reason() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let chip = file.path().join("gpiochip0");
        let err = pulse_blocking(&chip, 1, false, Duration::ZERO).unwrap_err();
        assert!(matches!(err, GpioError::Open { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&chip.display().to_string()), "{text}");
        assert!(text.contains("Not a directory"), "{text}");
    }

    #[test]
    fn a_device_that_is_not_a_gpio_chip_fails_the_request_naming_path_and_line() {
        let err = pulse_blocking(Path::new("/dev/null"), 4, false, Duration::ZERO).unwrap_err();
        assert!(matches!(err, GpioError::Request { line: 4, .. }), "{err:?}");
        assert!(err.to_string().contains("line 4 of /dev/null"), "{err}");
    }

    #[test]
    fn a_regular_file_is_not_a_gpio_chip() {
        let file = tempfile::NamedTempFile::new().unwrap();
        let err = pulse_blocking(file.path(), 9, true, Duration::ZERO).unwrap_err();
        assert!(matches!(err, GpioError::Request { line: 9, .. }), "{err:?}");
        let text = err.to_string();
        assert!(
            text.contains(&format!("line 9 of {}", file.path().display())),
            "{text}"
        );
        assert!(text.contains("not a character device"), "{text}");
    }
}
