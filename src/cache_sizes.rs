//! The data cache sizes of the machine, read once per process: what the
//! fit plans size their blocks by.
//!
//! On Linux they come from `/sys/devices/system/cpu/cpu0/cache` (the
//! unified or data caches of levels 2 and 3, as the kernel reports them for
//! the first CPU); elsewhere, or when that is unreadable, from the
//! conservative defaults below.

use std::sync::OnceLock;

/// L2 size assumed when the machine does not report one.
const DEFAULT_L2: usize = 512 << 10;
/// Last-level cache size assumed when the machine does not report one.
const DEFAULT_L3: usize = 8 << 20;

/// Sizes in bytes of the caches the fit plans are sized by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CacheSizes {
    /// The L2 cache of one core.
    pub l2: usize,
    /// The last-level cache (shared by its cores); `l2` if there is no L3.
    pub l3: usize,
}

impl CacheSizes {
    /// The sizes of this machine (read on first use, then kept).
    pub(crate) fn get() -> CacheSizes {
        static SIZES: OnceLock<CacheSizes> = OnceLock::new();
        *SIZES.get_or_init(CacheSizes::read)
    }

    fn read() -> CacheSizes {
        let (mut l2, mut l3) = (None, None);
        // Miri's isolation forbids the file system: the defaults.
        if cfg!(miri) {
            return CacheSizes::from_parts(l2, l3);
        }
        for index in 0..8 {
            let dir = format!("/sys/devices/system/cpu/cpu0/cache/index{index}");
            let field = |name: &str| std::fs::read_to_string(format!("{dir}/{name}")).ok();
            let (Some(level), Some(kind), Some(size)) =
                (field("level"), field("type"), field("size"))
            else {
                continue;
            };
            if kind.trim() == "Instruction" {
                continue;
            }
            let Some(bytes) = parse_size(size.trim()) else {
                continue;
            };
            match level.trim() {
                "2" => l2 = Some(bytes),
                "3" => l3 = Some(bytes),
                _ => {}
            }
        }
        CacheSizes::from_parts(l2, l3)
    }

    /// Sizes from what was found, sane bounds applied (a reported L2 below
    /// 64 KiB or above 64 MiB is ignored).
    fn from_parts(l2: Option<usize>, l3: Option<usize>) -> CacheSizes {
        let sane = |b: usize| ((64 << 10)..=(64 << 20)).contains(&b);
        let l2 = l2.filter(|&b| sane(b)).unwrap_or(DEFAULT_L2);
        let l3 = l3
            .filter(|&b| b >= l2 && b <= 4 << 30)
            .unwrap_or(if l2 == DEFAULT_L2 {
                DEFAULT_L3
            } else {
                l2.max(DEFAULT_L3)
            });
        CacheSizes { l2, l3 }
    }
}

/// `"1024K"`, `"32M"`, `"512"` (bytes) → bytes.
fn parse_size(s: &str) -> Option<usize> {
    let (num, mult) = match s.as_bytes().last()? {
        b'K' | b'k' => (&s[..s.len() - 1], 1 << 10),
        b'M' | b'm' => (&s[..s.len() - 1], 1 << 20),
        b'G' | b'g' => (&s[..s.len() - 1], 1 << 30),
        _ => (s, 1),
    };
    num.trim().parse::<usize>().ok()?.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_as_the_kernel_writes_them() {
        assert_eq!(parse_size("1024K"), Some(1 << 20));
        assert_eq!(parse_size("32M"), Some(32 << 20));
        assert_eq!(parse_size("48k"), Some(48 << 10));
        assert_eq!(parse_size("4096"), Some(4096));
        assert_eq!(parse_size(""), None);
        assert_eq!(parse_size("K"), None);
        assert_eq!(parse_size("x1K"), None);
    }

    #[test]
    fn missing_or_absurd_sizes_fall_back_to_the_defaults() {
        let d = CacheSizes::from_parts(None, None);
        assert_eq!(
            d,
            CacheSizes {
                l2: DEFAULT_L2,
                l3: DEFAULT_L3
            }
        );
        let tiny = CacheSizes::from_parts(Some(1024), Some(1 << 20));
        assert_eq!(tiny.l2, DEFAULT_L2);
        let real = CacheSizes::from_parts(Some(2 << 20), Some(32 << 20));
        assert_eq!(
            real,
            CacheSizes {
                l2: 2 << 20,
                l3: 32 << 20
            }
        );
        // An L3 smaller than the L2 is not believed.
        let odd = CacheSizes::from_parts(Some(2 << 20), Some(1 << 20));
        assert_eq!(odd.l3, 8 << 20);
        let got = CacheSizes::get();
        assert!(got.l2 >= 64 << 10 && got.l3 >= got.l2);
    }
}
