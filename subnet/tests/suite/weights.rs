//! The SDK's weight processing: vectors worked out by hand from `bittensor.utils.weight_utils`
//! and NumPy's rules, and the properties of the emit form.

use subnet::incentive::weights::{
    convert_weights_and_uids_for_emit, normalize_max_weight, process_weights_for_netuid, WeightsError,
};
use proptest::prelude::*;

/// `MaxWeightsLimit` of 65535: no cap.
const NO_LIMIT: u16 = u16::MAX;

fn assert_close(actual: &[f64], expected: &[f64], tolerance: f64) {
    assert_eq!(actual.len(), expected.len(), "{actual:?} vs {expected:?}");
    for (a, e) in actual.iter().zip(expected) {
        assert!((a - e).abs() <= tolerance, "{actual:?} vs {expected:?}");
    }
}

#[test]
fn emit_scales_the_largest_weight_to_u16_max() {
    // max = 4: 1/4 * 65535 = 16383.75 -> 16384; 2/4 * 65535 = 32767.5, a tie, to even 32768;
    // 4/4 * 65535 = 65535.
    assert_eq!(
        convert_weights_and_uids_for_emit(&[3, 5, 9], &[1.0, 2.0, 4.0]),
        Ok((vec![3, 5, 9], vec![16384, 32768, 65535]))
    );
}

#[test]
fn emit_drops_weights_that_are_or_round_to_zero() {
    // uid 0 is zero; uid 2: 1e-6 / 1 * 65535 = 0.065535 -> 0.
    assert_eq!(convert_weights_and_uids_for_emit(&[0, 1, 2], &[0.0, 1.0, 1e-6]), Ok((vec![1], vec![65535])));
}

#[test]
fn emit_rounds_ties_to_even_like_python() {
    // 5 / 131070 * 65535 = 2.5 exactly in f64 -> 2 (half away from zero would give 3);
    // 1 / 131070 * 65535 = 0.5 -> 0, so uid 7 is dropped; 131070 / 131070 -> 65535.
    assert_eq!(convert_weights_and_uids_for_emit(&[4, 7, 8], &[5.0, 1.0, 131_070.0]), Ok((vec![4, 8], vec![2, 65535])));
}

#[test]
fn emit_of_all_zero_or_nothing_is_empty() {
    assert_eq!(convert_weights_and_uids_for_emit(&[0, 1], &[0.0, 0.0]), Ok((vec![], vec![])));
    assert_eq!(convert_weights_and_uids_for_emit(&[], &[]), Ok((vec![], vec![])));
}

#[test]
fn emit_refuses_negative_and_non_finite_weights() {
    assert_eq!(
        convert_weights_and_uids_for_emit(&[0, 1], &[1.0, -0.5]),
        Err(WeightsError::InvalidWeight { uid: 1, weight: -0.5 })
    );
    assert!(matches!(
        convert_weights_and_uids_for_emit(&[0, 1], &[f64::NAN, 1.0]),
        Err(WeightsError::InvalidWeight { uid: 0, .. })
    ));
    assert_eq!(
        convert_weights_and_uids_for_emit(&[0], &[f64::INFINITY]),
        Err(WeightsError::InvalidWeight { uid: 0, weight: f64::INFINITY })
    );
}

#[test]
fn length_mismatches_are_refused() {
    assert_eq!(
        convert_weights_and_uids_for_emit(&[0, 1], &[1.0]),
        Err(WeightsError::LengthMismatch { uids: 2, weights: 1 })
    );
    assert_eq!(
        process_weights_for_netuid(&[0], &[1.0, 2.0], 4, 1, NO_LIMIT, 0),
        Err(WeightsError::LengthMismatch { uids: 1, weights: 2 })
    );
}

#[test]
fn process_drops_zero_weights_and_normalises_to_one() {
    // Non-zero: uids 0 and 2 with 0.5 each. 2 * 1.0 > 1, the largest share 0.5 <= 1: divide by
    // the sum 1.0.
    let (uids, weights) = process_weights_for_netuid(&[0, 1, 2], &[0.5, 0.0, 0.5], 3, 1, NO_LIMIT, 0).unwrap();
    assert_eq!(uids, vec![0, 2]);
    assert_eq!(weights, vec![0.5, 0.5]);
}

#[test]
fn process_caps_a_weight_above_the_max_weight_limit() {
    // limit = 26214 / 65535 = 0.4. Sorted [1, 1, 1, 7], sum 10, shares e = [.1, .1, .1, .7];
    // .7 > .4, so cap. cumsum = [.1, .2, .3, 1]; (3 - i) * e_i = [.3, .2, .1, 0];
    // e_i / ((3 - i) e_i + cumsum_i + 1e-7) = [.25, .25, .25, .7]: 3 stay under .4.
    // cutoff_scale = (.4 * cumsum[2] - 1e-7) / (1 - .4 * (4 - 3)) = (.12 - 1e-7) / .6, where the
    // numerator is f32 arithmetic on f32(.4) * f32(.3): 0.11999991, so .19999985; cutoff =
    // 10 * that = 1.9999985, which 7 exceeds. [1, 1, 1, 1.9999985] sums to 4.9999986 in f32:
    // [.20000006, .20000006, .20000006, .3999998] (the SDK's float32 output, to 1e-7).
    let (uids, weights) = process_weights_for_netuid(&[0, 1, 2, 3], &[1.0, 1.0, 1.0, 7.0], 4, 1, 26_214, 0).unwrap();
    assert_eq!(uids, vec![0, 1, 2, 3]);
    assert_close(&weights, &[0.20000006, 0.20000006, 0.20000006, 0.3999998], 1e-7);
    // On chain: .20000006 / .3999998 * 65535 = 32767.52 -> 32768.
    assert_eq!(convert_weights_and_uids_for_emit(&uids, &weights), Ok((uids, vec![32768, 32768, 32768, 65535])));
}

#[test]
fn a_cap_no_vector_can_meet_gives_uniform_weights() {
    // 3 values with limit .2: 3 * .2 = .6 <= 1, so even equal shares (1/3) exceed it; the SDK
    // gives up and returns 1/3 each.
    let third = 1.0_f32 / 3.0;
    assert_eq!(normalize_max_weight(&[1.0, 5.0, 9.0], 0.2), vec![third; 3]);
}

#[test]
fn the_limit_is_divided_in_f64_as_the_sdk_does() {
    // 13107 / 65535 = .2 in f64, and 5 * .2 = 1.0 <= 1: the SDK gives up on the cap and returns
    // 1/5 each. (In f32 the limit is .20000000298 and 5 times it exceeds 1, which would cap
    // instead.)
    let (uids, weights) =
        process_weights_for_netuid(&[0, 1, 2, 3, 4], &[1.0, 2.0, 3.0, 4.0, 10.0], 5, 1, 13_107, 0).unwrap();
    assert_eq!(uids, vec![0, 1, 2, 3, 4]);
    assert_eq!(weights, vec![f64::from(0.2_f32); 5]);
}

#[test]
fn the_exclude_quantile_never_leaves_fewer_than_min_allowed_weights() {
    // Asked to exclude everything (65535 / 65535 = 1), but with 4 weights and a minimum of 3 at
    // most (4 - 3) / 4 = .25 may go. np.quantile([1, 2, 3, 4], .25): position 3 * .25 = .75
    // between 1 and 2, fraction .75 >= .5, so 2 - (2 - 1) * (1 - .75) = 1.75. Kept: >= 1.75,
    // that is 2, 3, 4, normalised by 9.
    let (uids, weights) =
        process_weights_for_netuid(&[10, 11, 12, 13], &[1.0, 2.0, 3.0, 4.0], 20, 3, NO_LIMIT, u16::MAX).unwrap();
    assert_eq!(uids, vec![11, 12, 13]);
    assert_close(&weights, &[2.0 / 9.0, 3.0 / 9.0, 4.0 / 9.0], 1e-7);
}

#[test]
fn the_exclude_quantile_interpolates_between_neighbours() {
    // q = 32768 / 65535 = .5000076; minimum 0 allows excluding all. Sorted [1, 2, 3, 4]:
    // position 3q = 1.500023 between 2 and 3, fraction >= .5, so the quantile is
    // 3 - 1 * (1 - .500023) = 2.500023. Kept: 3 and 4 (uids 8 and 5), in input order.
    let (uids, weights) =
        process_weights_for_netuid(&[5, 6, 7, 8], &[4.0, 1.0, 2.0, 3.0], 10, 0, NO_LIMIT, 32_768).unwrap();
    assert_eq!(uids, vec![5, 8]);
    assert_close(&weights, &[4.0 / 7.0, 3.0 / 7.0], 1e-7);
}

#[test]
fn fewer_weights_than_min_allowed_are_padded_over_the_whole_subnet() {
    // One positive weight, minimum 2: every uid of the 4 gets 1e-5, uid 1 gets 1e-5 + 2.
    // Sum 2.00004; the largest share .999985 <= 1, so divide: 1e-5 / 2.00004 = 4.9999e-6 and
    // 2.00001 / 2.00004 = .999985.
    let (uids, weights) = process_weights_for_netuid(&[0, 1, 2, 3], &[0.0, 2.0, 0.0, 0.0], 4, 2, NO_LIMIT, 0).unwrap();
    assert_eq!(uids, vec![0, 1, 2, 3]);
    let small = 1e-5 / 2.00004;
    assert_close(&weights, &[small, 2.00001 / 2.00004, small, small], 1e-12);
    // On chain the padding vanishes: 1e-5 / 2.00001 * 65535 = 0.33 -> 0.
    assert_eq!(convert_weights_and_uids_for_emit(&uids, &weights), Ok((vec![1], vec![65535])));
}

#[test]
fn padding_places_weights_by_uid_and_refuses_uids_outside_the_subnet() {
    // uid 3 at position 0: 1e-5 everywhere, 1e-5 + 1 at uid 3.
    let (uids, weights) = process_weights_for_netuid(&[3], &[1.0], 4, 2, NO_LIMIT, 0).unwrap();
    assert_eq!(uids, vec![0, 1, 2, 3]);
    assert!(weights[3] > 0.99 && weights[0] < 1e-4);
    assert_eq!(
        process_weights_for_netuid(&[9], &[1.0], 4, 2, NO_LIMIT, 0),
        Err(WeightsError::UidOutOfRange { uid: 9, subnet_size: 4 })
    );
}

#[test]
fn no_positive_weight_falls_back_to_uniform_over_the_subnet() {
    // np.ones(4) / 4 over uids 0..4, whatever uids were passed.
    assert_eq!(
        process_weights_for_netuid(&[2, 3], &[0.0, 0.0], 4, 1, NO_LIMIT, 0),
        Ok((vec![0, 1, 2, 3], vec![0.25; 4]))
    );
    // A subnet smaller than its own minimum: the same, 1/2 each.
    assert_eq!(process_weights_for_netuid(&[0, 1], &[1.0, 2.0], 2, 3, NO_LIMIT, 0), Ok((vec![0, 1], vec![0.5; 2])));
}

proptest! {
    /// The emit form of any non-negative weights: u16 values whose maximum is u16::MAX when any
    /// weight is positive, uids in input order (so still sorted and unique), each value within
    /// rounding of its weight's ratio to the maximum.
    #[test]
    fn emit_form_keeps_ratios(weights in prop::collection::vec(prop_oneof![Just(0.0), 0.0..1000.0f64], 1..64)) {
        let uids: Vec<u16> = (0..weights.len() as u16).map(|i| i * 3).collect();
        let (emitted_uids, values) = convert_weights_and_uids_for_emit(&uids, &weights).unwrap();
        prop_assert_eq!(emitted_uids.len(), values.len());
        prop_assert!(emitted_uids.windows(2).all(|pair| pair[0] < pair[1]));
        let max = weights.iter().copied().fold(0.0, f64::max);
        if max == 0.0 {
            prop_assert!(values.is_empty());
        } else {
            prop_assert_eq!(values.iter().copied().max(), Some(u16::MAX));
            for (uid, weight) in uids.iter().zip(&weights) {
                let ideal = weight / max * 65535.0;
                let value = emitted_uids.iter().position(|u| u == uid).map_or(0.0, |i| f64::from(values[i]));
                prop_assert!((value - ideal).abs() <= 0.5, "uid {} ideal {} got {}", uid, ideal, value);
            }
        }
    }
}
