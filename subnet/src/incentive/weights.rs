//! The weight processing of the Bittensor Python SDK (`bittensor.utils.weight_utils`), so that
//! this validator puts on chain exactly what a Python validator would put there for the same
//! scores.
//!
//! Terms:
//! - **uid**: a neuron's index in the subnet, `0..subnet_size`.
//! - **weight**: a validator's non-negative score for one uid; only ratios matter.
//! - **max weight limit**: the subnet's `MaxWeightsLimit` hyperparameter, a `u16` read as the
//!   fraction `limit / 65535` that no single normalised weight may exceed.
//! - **min allowed weights**: the subnet's `MinAllowedWeights`, the fewest uids a weight vector
//!   must name.
//! - **exclude quantile**: the lowest fraction of non-zero weights to drop, in the SDK's unit of
//!   `1/65535` (its default, and the usual argument, is 0).
//! - **emit form**: the `(uids, u16 weights)` pair `set_weights` takes, scaled so the largest
//!   weight is `u16::MAX` (max-upscaling: the chain normalises again, so the sum is free).
//!
//! The pipeline is [`process_weights_for_netuid`] then [`convert_weights_and_uids_for_emit`].
//!
//! Bit-for-bit agreement needs NumPy 2's arithmetic (which the SDK requires), not just its
//! formulas: every array operation runs in the array's own width (`f32` for the caller's weights,
//! `f64` for the arrays the SDK builds itself) with Python floats converted to that width first,
//! `sum` adds pairwise in blocks of eight, and rounding is half to even.

use std::cmp::Ordering;
use std::ops::{Add, Div, Mul, Sub};

/// The `u16` the chain reads as weight 1.0 (the SDK's `U16_MAX`).
const U16_MAX: f64 = u16::MAX as f64;

/// What the SDK gives every uid before adding the caller's weights, when the caller named fewer
/// uids than the subnet's minimum: small enough not to matter, large enough to name them all.
const PADDING_WEIGHT: f64 = 1e-5;

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
    #[error("{uids} uids but {weights} weights")]
    LengthMismatch { uids: usize, weights: usize },
    #[error("weight {weight} of uid {uid} cannot go on chain: weights are finite and non-negative")]
    InvalidWeight { uid: u16, weight: f64 },
    #[error("uid {uid} is not in a subnet of {subnet_size} uids")]
    UidOutOfRange { uid: u16, subnet_size: u16 },
}

/// `process_weights_for_netuid`: drops zero weights and the lowest `exclude_quantile` of the rest
/// (never leaving fewer than `min_allowed_weights`), then normalises to sum 1 with no weight above
/// `max_weights_limit / 65535`. Returns the kept uids and their weights, in input order.
///
/// Two fallbacks, as in the SDK: with no positive weight, or a subnet smaller than
/// `min_allowed_weights`, every uid of the subnet gets `1 / subnet_size`; with fewer positive
/// weights than `min_allowed_weights`, every uid gets `1e-5` plus its weight, normalised.
///
/// The limits are the chain's `u16` values rather than fractions because the SDK divides them in
/// `f64`; an `f32` fraction can take the other side of its `n * limit <= 1` test (`5 * 0.2`).
/// Where the SDK indexes its padded vector by position in the input, this uses the uid: the same
/// whenever the input names uids `0..n` in order, as a metagraph's do, and right when it does not.
pub fn process_weights_for_netuid(
    uids: &[u16],
    weights: &[f32],
    subnet_size: u16,
    min_allowed_weights: u16,
    max_weights_limit: u16,
    exclude_quantile: u16,
) -> Result<(Vec<u16>, Vec<f64>), WeightsError> {
    check_lengths(uids, weights)?;
    let limit = f64::from(max_weights_limit) / U16_MAX;
    let (positive_uids, positive_weights): (Vec<u16>, Vec<f32>) =
        uids.iter().zip(weights).filter(|(_, &weight)| weight > 0.0).map(|(&uid, &weight)| (uid, weight)).unzip();
    let all_uids = || (0..subnet_size).collect::<Vec<u16>>();

    if positive_weights.is_empty() || subnet_size < min_allowed_weights {
        let uniform = 1.0 / f64::from(subnet_size);
        return Ok((all_uids(), vec![uniform; usize::from(subnet_size)]));
    }

    if positive_weights.len() < usize::from(min_allowed_weights) {
        let mut padded = vec![PADDING_WEIGHT; usize::from(subnet_size)];
        for (&uid, &weight) in positive_uids.iter().zip(&positive_weights) {
            let slot = padded.get_mut(usize::from(uid)).ok_or(WeightsError::UidOutOfRange { uid, subnet_size })?;
            *slot = PADDING_WEIGHT + f64::from(weight);
        }
        return Ok((all_uids(), normalize_in_width(&padded, limit)));
    }

    let count = positive_weights.len();
    let max_exclude = count.saturating_sub(usize::from(min_allowed_weights)) as f64 / count as f64;
    let exclude = (f64::from(exclude_quantile) / U16_MAX).min(max_exclude);
    let lowest_kept = quantile(&positive_weights, exclude);
    let (kept_uids, kept_weights): (Vec<u16>, Vec<f32>) =
        positive_uids.into_iter().zip(positive_weights).filter(|&(_, weight)| lowest_kept <= weight).unzip();
    let normalized = normalize_max_weight(&kept_weights, limit);
    Ok((kept_uids, normalized.into_iter().map(f64::from).collect()))
}

/// `normalize_max_weight`: scales `x` to sum 1 and, when some share would exceed `limit`, caps
/// the largest values at one cutoff chosen so that after renormalising none does (to within
/// the SDK's epsilon of `1e-7`). When `len * limit <= 1` no vector can satisfy the cap, and all
/// entries become `1 / len`, as they do when `x` sums to zero.
pub fn normalize_max_weight(x: &[f32], limit: f64) -> Vec<f32> {
    normalize_in_width(x, limit)
}

/// `convert_weights_and_uids_for_emit`: the emit form, `round(w / max(w) * 65535)` with ties to
/// even (Python's `round`), dropping uids whose weight rounds to zero. All-zero (or empty)
/// weights give empty vectors: nothing to set.
pub fn convert_weights_and_uids_for_emit(uids: &[u16], weights: &[f64]) -> Result<(Vec<u16>, Vec<u16>), WeightsError> {
    check_lengths(uids, weights)?;
    if let Some((&uid, &weight)) = uids.iter().zip(weights).find(|(_, weight)| !(weight.is_finite() && **weight >= 0.0))
    {
        return Err(WeightsError::InvalidWeight { uid, weight });
    }
    let max = weights.iter().copied().fold(0.0, f64::max);
    if max == 0.0 {
        return Ok((Vec::new(), Vec::new()));
    }
    Ok(uids
        .iter()
        .zip(weights)
        // A ratio is at most 1, so the rounded value fits a u16.
        .map(|(&uid, &weight)| (uid, (weight / max * U16_MAX).round_ties_even() as u16))
        .filter(|&(_, value)| value != 0)
        .unzip())
}

fn check_lengths<T>(uids: &[u16], weights: &[T]) -> Result<(), WeightsError> {
    if uids.len() == weights.len() {
        Ok(())
    } else {
        Err(WeightsError::LengthMismatch { uids: uids.len(), weights: weights.len() })
    }
}

/// A float width NumPy computes an array in. Python scalars meeting such an array are converted
/// to its width first (NumPy 2's "weak" scalars), which `from_f64` stands for.
trait Width: Copy + PartialOrd + Add<Output = Self> + Sub<Output = Self> + Mul<Output = Self> + Div<Output = Self> {
    const ZERO: Self;
    fn from_f64(value: f64) -> Self;
    fn to_f64(self) -> f64;
    fn total_cmp(&self, other: &Self) -> Ordering;
}

impl Width for f32 {
    const ZERO: f32 = 0.0;
    fn from_f64(value: f64) -> f32 {
        value as f32
    }
    fn to_f64(self) -> f64 {
        f64::from(self)
    }
    fn total_cmp(&self, other: &f32) -> Ordering {
        f32::total_cmp(self, other)
    }
}

impl Width for f64 {
    const ZERO: f64 = 0.0;
    fn from_f64(value: f64) -> f64 {
        value
    }
    fn to_f64(self) -> f64 {
        self
    }
    fn total_cmp(&self, other: &f64) -> Ordering {
        f64::total_cmp(self, other)
    }
}

/// The SDK's `normalize_max_weight` computed as NumPy computes it for an array of width `T`
/// (`f32` for the caller's weights, `f64` for the SDK's padded vector).
fn normalize_in_width<T: Width>(x: &[T], limit: f64) -> Vec<T> {
    const EPSILON: f64 = 1e-7;
    let len = x.len();
    if numpy_sum(x) == T::ZERO || len as f64 * limit <= 1.0 {
        return vec![T::from_f64(1.0) / T::from_f64(len as f64); len];
    }

    let mut sorted = x.to_vec();
    sorted.sort_by(T::total_cmp);
    let sorted_sum = numpy_sum(&sorted);
    let estimation: Vec<T> = sorted.iter().map(|&value| value / sorted_sum).collect();
    let limit_in_width = T::from_f64(limit);
    let max_share = estimation.iter().copied().fold(estimation[0], |max, share| if share > max { share } else { max });
    if max_share <= limit_in_width {
        return divide_by_sum(x.to_vec());
    }

    // How many of the smallest shares stay under the limit if every larger one is capped at
    // their size: those keep their value, the rest are cut to one common cutoff.
    let cumsum: Vec<T> = estimation
        .iter()
        .scan(T::ZERO, |running, &share| {
            *running = *running + share;
            Some(*running)
        })
        .collect();
    let epsilon = T::from_f64(EPSILON);
    let uncapped = (0..len)
        .filter(|&i| {
            let capped_like_i = T::from_f64((len - i - 1) as f64) * estimation[i];
            estimation[i] / (capped_like_i + cumsum[i] + epsilon) < limit_in_width
        })
        .count();
    // `cumsum[uncapped - 1]` in NumPy, where index -1 is the last element.
    let uncapped_share = cumsum[(uncapped + len - 1) % len];
    // The numerator is an array element (width T); `limit * (len - uncapped)` multiplies a Python
    // float by a NumPy integer, which NumPy does in f64, so the quotient is f64.
    let cutoff_scale = (limit_in_width * uncapped_share - epsilon).to_f64() / (1.0 - limit * (len - uncapped) as f64);
    let cutoff = cutoff_scale * sorted_sum.to_f64();
    let capped = x.iter().map(|&weight| if weight.to_f64() > cutoff { T::from_f64(cutoff) } else { weight }).collect();
    divide_by_sum(capped)
}

fn divide_by_sum<T: Width>(values: Vec<T>) -> Vec<T> {
    let sum = numpy_sum(&values);
    values.into_iter().map(|value| value / sum).collect()
}

/// `np.sum` of a contiguous float array: pairwise summation, eight running sums per block of up
/// to 128 values. Its grouping differs from a left-to-right sum, and so can its last bit.
fn numpy_sum<T: Width>(values: &[T]) -> T {
    const BLOCK: usize = 128;
    const LANES: usize = 8;
    let len = values.len();
    if len < LANES {
        values.iter().fold(T::ZERO, |sum, &value| sum + value)
    } else if len <= BLOCK {
        let whole_rows = len - len % LANES;
        let mut lanes = [T::ZERO; LANES];
        lanes.copy_from_slice(&values[..LANES]);
        for row in values[LANES..whole_rows].chunks_exact(LANES) {
            for (lane, &value) in lanes.iter_mut().zip(row) {
                *lane = *lane + value;
            }
        }
        let [a, b, c, d, e, f, g, h] = lanes;
        let rows_sum = ((a + b) + (c + d)) + ((e + f) + (g + h));
        values[whole_rows..].iter().fold(rows_sum, |sum, &value| sum + value)
    } else {
        let half = len / 2;
        let split = half - half % LANES;
        numpy_sum(&values[..split]) + numpy_sum(&values[split..])
    }
}

/// `np.quantile(values, q)` with the default linear method and a Python float `q`: the position
/// `(n - 1) * q` and its fraction are f64, the interpolation is f32, and it runs from whichever
/// neighbour is nearer, as NumPy's `_lerp` does. `values` is not empty and `q` is in `[0, 1]`.
fn quantile(values: &[f32], q: f64) -> f32 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f32::total_cmp);
    let last = sorted.len() - 1;
    let position = last as f64 * q;
    if position >= last as f64 {
        return sorted[last];
    }
    let below = position.floor();
    let fraction = position - below;
    let (lower, upper) = (sorted[below as usize], sorted[below as usize + 1]);
    let step = upper - lower;
    if fraction >= 0.5 {
        upper - step * (1.0 - fraction) as f32
    } else {
        lower + step * fraction as f32
    }
}
