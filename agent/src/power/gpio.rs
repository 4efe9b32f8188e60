//! A pulse on one line of a Linux GPIO character device (`/dev/gpiochipN`),
//! through the kernel's GPIO v2 uAPI (`linux/gpio.h`, Linux 5.10+): request
//! the line as an output (`GPIO_V2_GET_LINE_IOCTL`), set it active, wait,
//! set it inactive (`GPIO_V2_LINE_SET_VALUES_IOCTL`), close the line's fd
//! (which releases it).
//!
//! The structs mirror the header field for field; their sizes and offsets
//! are tested against the header's (checked with a C compiler on x86_64:
//! request 592 bytes, values 16). `__aligned_u64` is 8-byte aligned on every
//! target, which Rust's `u64` is not on i686, hence [`AlignedU64`].
//!
//! Not tested against real hardware here (no GPIO chip in CI); the request
//! building, the ioctl numbers and the error paths are.

use std::fs::OpenOptions;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// `GPIO_V2_LINES_MAX`.
pub const LINES_MAX: usize = 64;
/// `GPIO_MAX_NAME_SIZE`.
pub const MAX_NAME_SIZE: usize = 32;
/// `GPIO_V2_LINE_NUM_ATTRS_MAX`.
pub const NUM_ATTRS_MAX: usize = 10;
/// `GPIO_V2_LINE_FLAG_ACTIVE_LOW`.
pub const FLAG_ACTIVE_LOW: u64 = 1 << 1;
/// `GPIO_V2_LINE_FLAG_OUTPUT`.
pub const FLAG_OUTPUT: u64 = 1 << 3;
/// `GPIO_V2_LINE_ATTR_ID_OUTPUT_VALUES`.
pub const ATTR_ID_OUTPUT_VALUES: u32 = 2;
/// The consumer name the kernel shows for the line (`gpioinfo`).
pub const CONSUMER: &str = "edge-agent-wake";

/// `__aligned_u64`.
#[repr(C, align(8))]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AlignedU64(pub u64);

/// `struct gpio_v2_line_attribute`: `id`, padding, and a union of
/// `flags`/`values` (u64) and `debounce_period_us` (u32), held as its
/// largest member.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineAttribute {
    pub id: u32,
    pub padding: u32,
    pub value: AlignedU64,
}

/// `struct gpio_v2_line_config_attribute`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineConfigAttribute {
    pub attr: LineAttribute,
    pub mask: AlignedU64,
}

/// `struct gpio_v2_line_config`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineConfig {
    pub flags: AlignedU64,
    pub num_attrs: u32,
    pub padding: [u32; 5],
    pub attrs: [LineConfigAttribute; NUM_ATTRS_MAX],
}

/// `struct gpio_v2_line_request`.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LineRequest {
    pub offsets: [u32; LINES_MAX],
    pub consumer: [u8; MAX_NAME_SIZE],
    pub config: LineConfig,
    pub num_lines: u32,
    pub event_buffer_size: u32,
    pub padding: [u32; 5],
    /// Filled by the kernel: the line's fd.
    pub fd: i32,
}

/// `struct gpio_v2_line_values`.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LineValues {
    pub bits: AlignedU64,
    pub mask: AlignedU64,
}

nix::ioctl_readwrite!(get_line_ioctl, 0xB4, 0x07, LineRequest);
nix::ioctl_readwrite!(set_values_ioctl, 0xB4, 0x0F, LineValues);

impl LineRequest {
    /// One line as an output, starting inactive, `active_low` inverting it.
    pub fn single_output(line: u32, active_low: bool) -> LineRequest {
        let mut offsets = [0u32; LINES_MAX];
        offsets[0] = line;
        let mut consumer = [0u8; MAX_NAME_SIZE];
        // NUL-terminated: at most 31 bytes of name.
        let name = &CONSUMER.as_bytes()[..CONSUMER.len().min(MAX_NAME_SIZE - 1)];
        consumer[..name.len()].copy_from_slice(name);
        let mut attrs = [LineConfigAttribute::default(); NUM_ATTRS_MAX];
        // The line's first value is inactive, said rather than left to the
        // kernel's default, so requesting it never pulses it.
        attrs[0] = LineConfigAttribute {
            attr: LineAttribute {
                id: ATTR_ID_OUTPUT_VALUES,
                padding: 0,
                value: AlignedU64(0),
            },
            mask: AlignedU64(1),
        };
        let flags = FLAG_OUTPUT | if active_low { FLAG_ACTIVE_LOW } else { 0 };
        LineRequest {
            offsets,
            consumer,
            config: LineConfig {
                flags: AlignedU64(flags),
                num_attrs: 1,
                padding: [0; 5],
                attrs,
            },
            num_lines: 1,
            event_buffer_size: 0,
            padding: [0; 5],
            fd: -1,
        }
    }
}

impl LineValues {
    /// The first (only) requested line active or inactive.
    pub fn first(active: bool) -> LineValues {
        LineValues {
            bits: AlignedU64(u64::from(active)),
            mask: AlignedU64(1),
        }
    }
}

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
        source: nix::Error,
    },
    #[error("cannot set line {line} of {}: {source}", path.display())]
    Set {
        path: PathBuf,
        line: u32,
        source: nix::Error,
    },
}

/// Holds `line` of `chip` active for `pulse`, then inactive, then releases
/// it. Blocks the calling thread for the pulse: run it off the runtime.
pub fn pulse_blocking(
    chip: &Path,
    line: u32,
    active_low: bool,
    pulse: Duration,
) -> Result<(), GpioError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(chip)
        .map_err(|source| {
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
        })?;
    let mut request = LineRequest::single_output(line, active_low);
    // SAFETY: `request` is a live, exclusively borrowed struct laid out as
    // the kernel's `gpio_v2_line_request` (tested), and the ioctl number
    // names that struct's size; the kernel writes only within it.
    unsafe { get_line_ioctl(file.as_raw_fd(), &mut request) }.map_err(|source| {
        GpioError::Request {
            path: chip.to_path_buf(),
            line,
            source,
        }
    })?;
    if request.fd < 0 {
        return Err(GpioError::Request {
            path: chip.to_path_buf(),
            line,
            source: nix::Error::EBADF,
        });
    }
    // SAFETY: on success the kernel returned a new fd that nothing else
    // owns; OwnedFd closes it, which releases the line.
    let line_fd = unsafe { OwnedFd::from_raw_fd(request.fd) };
    let set = |active: bool| {
        let mut values = LineValues::first(active);
        // SAFETY: as above, for `gpio_v2_line_values` on the line's fd.
        unsafe { set_values_ioctl(line_fd.as_raw_fd(), &mut values) }
            .map(drop)
            .map_err(|source| GpioError::Set {
                path: chip.to_path_buf(),
                line,
                source,
            })
    };
    set(true)?;
    std::thread::sleep(pulse);
    set(false)
}

#[cfg(test)]
mod tests {
    use std::mem::{align_of, offset_of, size_of};

    use super::*;

    #[test]
    fn structs_match_the_kernel_header() {
        assert_eq!(size_of::<LineAttribute>(), 16);
        assert_eq!(size_of::<LineConfigAttribute>(), 24);
        assert_eq!(size_of::<LineConfig>(), 272);
        assert_eq!(size_of::<LineRequest>(), 592);
        assert_eq!(size_of::<LineValues>(), 16);
        assert_eq!(align_of::<LineRequest>(), 8);
        assert_eq!(offset_of!(LineRequest, consumer), 256);
        assert_eq!(offset_of!(LineRequest, config), 288);
        assert_eq!(offset_of!(LineRequest, num_lines), 560);
        assert_eq!(offset_of!(LineRequest, fd), 588);
        assert_eq!(offset_of!(LineConfig, attrs), 32);
    }

    #[test]
    #[cfg(any(target_arch = "x86_64", target_arch = "aarch64", target_arch = "arm"))]
    fn ioctl_numbers_match_the_kernel_header() {
        // _IOWR(0xB4, 0x07, struct gpio_v2_line_request) and
        // _IOWR(0xB4, 0x0F, struct gpio_v2_line_values), as the header
        // evaluates them on these architectures.
        assert_eq!(
            nix::request_code_readwrite!(0xB4, 0x07, size_of::<LineRequest>()) as u64,
            0xC250_B407
        );
        assert_eq!(
            nix::request_code_readwrite!(0xB4, 0x0F, size_of::<LineValues>()) as u64,
            0xC010_B40F
        );
    }

    #[test]
    fn the_request_asks_for_one_output_line_starting_inactive() {
        let r = LineRequest::single_output(17, true);
        assert_eq!(r.num_lines, 1);
        assert_eq!(r.offsets[0], 17);
        assert!(r.offsets[1..].iter().all(|&o| o == 0));
        assert_eq!(r.config.flags.0, FLAG_OUTPUT | FLAG_ACTIVE_LOW);
        assert_eq!(r.config.num_attrs, 1);
        assert_eq!(r.config.attrs[0].attr.id, ATTR_ID_OUTPUT_VALUES);
        assert_eq!(r.config.attrs[0].attr.value.0, 0);
        assert_eq!(r.config.attrs[0].mask.0, 1);
        let name_end = r.consumer.iter().position(|&b| b == 0).unwrap();
        assert_eq!(&r.consumer[..name_end], CONSUMER.as_bytes());
        let high = LineRequest::single_output(3, false);
        assert_eq!(high.config.flags.0, FLAG_OUTPUT);
        assert_eq!(LineValues::first(true).bits.0, 1);
        assert_eq!(LineValues::first(false).bits.0, 0);
        assert_eq!(LineValues::first(false).mask.0, 1);
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
    fn a_device_that_is_not_a_gpio_chip_fails_the_request_naming_path_and_line() {
        let err = pulse_blocking(Path::new("/dev/null"), 4, false, Duration::ZERO).unwrap_err();
        assert!(matches!(err, GpioError::Request { line: 4, .. }), "{err:?}");
        assert!(err.to_string().contains("line 4 of /dev/null"), "{err}");
    }
}
