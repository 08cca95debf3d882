//! Value parsers shared by the subcommands' options.

/// Sizes separated by any of `seps`, e.g. `50x30x20x10`; each at least `min`.
pub fn sizes(s: &str, seps: &[char], min: usize) -> Result<Vec<usize>, String> {
    s.split(seps)
        .map(|p| {
            let n: usize = p
                .trim()
                .parse()
                .map_err(|_| format!("`{p}` is not a size"))?;
            if n < min {
                return Err(format!("{n} is below the minimum size {min}"));
            }
            Ok(n)
        })
        .collect()
}

/// Exactly `N` sizes separated by any of `seps`, each at least `min`.
pub fn sizes_n<const N: usize>(s: &str, seps: &[char], min: usize) -> Result<[usize; N], String> {
    let v = sizes(s, seps, min)?;
    let n = v.len();
    v.try_into()
        .map_err(|_| format!("{n} sizes given, {N} wanted"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes() {
        assert_eq!(sizes("4x5 x6", &['x'], 1).unwrap(), vec![4, 5, 6]);
        assert_eq!(
            sizes_n::<3>("4,5X6", &['x', 'X', ','], 1).unwrap(),
            [4, 5, 6]
        );
        assert_eq!(sizes_n::<2>("7×8", &['×'], 4).unwrap(), [7, 8]);
        assert!(sizes("4x", &['x'], 1).is_err());
        assert!(sizes("4x0", &['x'], 1).is_err());
        assert!(sizes_n::<2>("4x5x6", &['x'], 1).is_err());
    }
}
