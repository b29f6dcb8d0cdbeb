//! Hostile GraphQL documents, shared by `bench-abuse` and the limit tests.

/// The document seen in testing: an inline fragment spreading `B` `spreads` times, `B` selecting
/// `__typename` 440 times (38 000 spreads: 16.7 million fields once expanded).
pub fn fragment_bomb(spreads: usize) -> String {
    let spreads = "...B\n".repeat(spreads);
    let typenames = "__typename\n".repeat(440);
    format!("{{ ...on QueryRoot {{\n{spreads}}} }}\nfragment B on QueryRoot {{\n{typenames}}}")
}

/// Fragments that each spread the next one twice: 2^`levels` fields from a few hundred bytes.
pub fn doubling_fragments(levels: usize) -> String {
    let mut query = String::from("{ ...F0 }");
    for level in 0..levels {
        query.push_str(&format!(
            " fragment F{level} on QueryRoot {{ ...F{next} ...F{next} }}",
            next = level + 1
        ));
    }
    query.push_str(&format!(" fragment F{levels} on QueryRoot {{ __typename }}"));
    query
}
