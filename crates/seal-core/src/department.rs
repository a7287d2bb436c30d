//! Departments: names and the rules of the department tree (no cycles, bounded depth).

use crate::ids::DepartmentId;
use crate::text::{self, TextError};

/// A department's name, 1–60 characters.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DepartmentName(String);

impl DepartmentName {
    pub const MAX_LEN: usize = 60;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        text::bounded(input, Self::MAX_LEN).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The deepest a department may sit below a root (a root is at depth 1).
pub const MAX_DEPTH: usize = 16;

/// Why a department cannot go where it was asked to.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TreeError {
    #[error("a department cannot be moved under itself or one of its own sub-departments")]
    Cycle,
    #[error("departments can be nested at most {MAX_DEPTH} levels deep")]
    TooDeep,
}

/// Checks that `moving` (with the given height: 1 for a leaf) may be placed under
/// `new_parent`. `parent_of` answers each department's current parent.
pub fn check_placement(
    moving: Option<DepartmentId>,
    subtree_height: usize,
    new_parent: Option<DepartmentId>,
    parent_of: impl Fn(DepartmentId) -> Option<DepartmentId>,
) -> Result<(), TreeError> {
    let mut depth_of_parent = 0;
    let mut cursor = new_parent;
    while let Some(current) = cursor {
        if Some(current) == moving {
            return Err(TreeError::Cycle);
        }
        depth_of_parent += 1;
        if depth_of_parent > MAX_DEPTH {
            // The stored tree itself is deeper than allowed or has a loop; refuse rather than spin.
            return Err(TreeError::TooDeep);
        }
        cursor = parent_of(current);
    }
    if depth_of_parent + subtree_height > MAX_DEPTH {
        return Err(TreeError::TooDeep);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn id(n: u8) -> DepartmentId {
        DepartmentId::from_bytes([n; 16])
    }

    #[test]
    fn refuses_cycles_and_depth() {
        // 1 <- 2 <- 3 (3 is under 2, 2 under 1)
        let parents: HashMap<_, _> = [(id(2), id(1)), (id(3), id(2))].into_iter().collect();
        let parent_of = |d| parents.get(&d).copied();
        assert_eq!(
            check_placement(Some(id(1)), 3, Some(id(3)), parent_of),
            Err(TreeError::Cycle)
        );
        assert_eq!(
            check_placement(Some(id(2)), 2, Some(id(2)), parent_of),
            Err(TreeError::Cycle)
        );
        assert_eq!(
            check_placement(Some(id(3)), 1, Some(id(1)), parent_of),
            Ok(())
        );
        assert_eq!(check_placement(Some(id(2)), 2, None, parent_of), Ok(()));
        assert_eq!(check_placement(None, 1, Some(id(3)), parent_of), Ok(()));
        assert_eq!(
            check_placement(None, MAX_DEPTH - 2, Some(id(3)), parent_of),
            Err(TreeError::TooDeep)
        );
    }

    #[test]
    fn terminates_on_a_corrupt_loop() {
        let parents: HashMap<_, _> = [(id(1), id(2)), (id(2), id(1))].into_iter().collect();
        let result = check_placement(Some(id(9)), 1, Some(id(1)), |d| parents.get(&d).copied());
        assert_eq!(result, Err(TreeError::TooDeep));
    }
}
