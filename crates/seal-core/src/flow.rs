//! Approval flows: ordered steps with approvers and a rule, conditions that add steps,
//! the resolution of a flow into the concrete people who decide one application, and the
//! review that collects their decisions. Separation of duties is checked here: nobody
//! approves their own application, and a seal's keeper cannot be its only approver.

use std::collections::BTreeSet;

use crate::application::{StampCount, StampKind};
use crate::ids::{PersonId, RoleId};
use crate::seal::{SealLevel, keyed_enum};
use crate::text::{self, TextError};

/// Who may decide a step.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Approvers {
    /// These people.
    People(Vec<PersonId>),
    /// Everyone holding this role (and able to approve).
    Role(RoleId),
    /// The head of the applicant's department.
    DepartmentHead,
    /// The seal's keeper.
    SealKeeper,
}

impl Approvers {
    pub const fn key(&self) -> &'static str {
        match self {
            Approvers::People(_) => "people",
            Approvers::Role(_) => "role",
            Approvers::DepartmentHead => "department_head",
            Approvers::SealKeeper => "seal_keeper",
        }
    }
}

/// How many of a step's approvers must approve.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StepRule {
    /// Any one of them (或签).
    Any,
    /// Every one of them (会签).
    All,
}

keyed_enum!(StepRule {
    Any => "any",
    All => "all",
});

/// When a step applies. A step without a condition always applies; a conditional step
/// is added only when its condition holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Condition {
    /// More than `n` stampings asked for.
    CountAbove(u32),
    /// The seal is level 1 (the most protected).
    SealLevel1,
    /// The application is for this kind of stamping.
    StampKindIs(StampKind),
}

impl Condition {
    pub fn holds(self, facts: &Facts) -> bool {
        match self {
            Condition::CountAbove(n) => facts.count.get() > n,
            Condition::SealLevel1 => facts.seal_level.get() == 1,
            Condition::StampKindIs(kind) => facts.stamp_kind == kind,
        }
    }
}

/// A step's name, 1–40 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct StepName(String);

impl StepName {
    pub const MAX_LEN: usize = 40;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        text::bounded(input, Self::MAX_LEN).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A flow's name, 1–40 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FlowName(String);

impl FlowName {
    pub const MAX_LEN: usize = 40;

    pub fn parse(input: &str) -> Result<Self, TextError> {
        text::bounded(input, Self::MAX_LEN).map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One step of a flow.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Step {
    pub name: StepName,
    pub approvers: Approvers,
    pub rule: StepRule,
    pub condition: Option<Condition>,
}

/// An ordered list of steps, at least one of which always applies.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Flow {
    steps: Vec<Step>,
}

/// Why a flow definition was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FlowError {
    #[error("a flow needs at least one step that always applies")]
    NoUnconditionalStep,
    #[error("a flow has at most {max} steps", max = Flow::MAX_STEPS)]
    TooManySteps,
    #[error("step {step} names no approver")]
    NoApprovers { step: usize },
    #[error("step {step} names too many people (at most {max})", max = Flow::MAX_PEOPLE)]
    TooManyPeople { step: usize },
}

impl Flow {
    pub const MAX_STEPS: usize = 10;
    pub const MAX_PEOPLE: usize = 20;

    pub fn new(steps: Vec<Step>) -> Result<Self, FlowError> {
        if steps.len() > Self::MAX_STEPS {
            return Err(FlowError::TooManySteps);
        }
        for (i, step) in steps.iter().enumerate() {
            if let Approvers::People(people) = &step.approvers {
                if people.is_empty() {
                    return Err(FlowError::NoApprovers { step: i + 1 });
                }
                if people.len() > Self::MAX_PEOPLE {
                    return Err(FlowError::TooManyPeople { step: i + 1 });
                }
            }
        }
        if !steps.iter().any(|s| s.condition.is_none()) {
            return Err(FlowError::NoUnconditionalStep);
        }
        Ok(Flow { steps })
    }

    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// The steps that apply to an application with these facts, in order.
    pub fn applicable<'a>(&'a self, facts: &'a Facts) -> impl Iterator<Item = &'a Step> + 'a {
        self.steps
            .iter()
            .filter(|s| s.condition.is_none_or(|c| c.holds(facts)))
    }
}

/// What a flow's conditions and approver kinds need to know about one application.
#[derive(Clone, Debug)]
pub struct Facts {
    pub applicant: PersonId,
    pub count: StampCount,
    pub seal_level: SealLevel,
    pub stamp_kind: StampKind,
    pub keeper: Option<PersonId>,
    pub department_head: Option<PersonId>,
}

/// The people who may decide each applicable step, given by the caller: who holds a
/// role, and who may approve at all (active, holding the approve permission).
pub trait Directory {
    fn role_members(&self, role: RoleId) -> Vec<PersonId>;
    fn may_approve(&self, person: PersonId) -> bool;
}

/// A step resolved to concrete people for one application.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ResolvedStep {
    pub name: StepName,
    pub rule: StepRule,
    pub approvers: Vec<PersonId>,
}

/// Why a flow cannot decide an application.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("step {name:?} has nobody who may approve it (other than the applicant)")]
    NobodyToApprove { name: String },
    #[error("the seal's keeper would be the only approver (separation of duties)")]
    KeeperOnlyApprover,
}

/// Resolves the applicable steps of `flow` into people. The applicant is never among
/// the approvers; people who may not approve are left out; a step left empty is an
/// error. Finally the whole review must not be decidable by the seal's keeper alone.
pub fn resolve(
    flow: &Flow,
    facts: &Facts,
    directory: &dyn Directory,
) -> Result<Vec<ResolvedStep>, ResolveError> {
    let mut resolved = Vec::new();
    for step in flow.applicable(facts) {
        let candidates: Vec<PersonId> = match &step.approvers {
            Approvers::People(people) => people.clone(),
            Approvers::Role(role) => directory.role_members(*role),
            Approvers::DepartmentHead => facts.department_head.into_iter().collect(),
            Approvers::SealKeeper => facts.keeper.into_iter().collect(),
        };
        let mut seen = BTreeSet::new();
        let approvers: Vec<PersonId> = candidates
            .into_iter()
            .filter(|p| *p != facts.applicant && directory.may_approve(*p) && seen.insert(*p))
            .collect();
        if approvers.is_empty() {
            return Err(ResolveError::NobodyToApprove {
                name: step.name.as_str().to_owned(),
            });
        }
        resolved.push(ResolvedStep {
            name: step.name.clone(),
            rule: step.rule,
            approvers,
        });
    }
    if let Some(keeper) = facts.keeper
        && keeper_could_decide_alone(&resolved, keeper)
    {
        return Err(ResolveError::KeeperOnlyApprover);
    }
    Ok(resolved)
}

/// Whether `keeper` could pass every step alone: in each step they are an approver, and
/// either the rule is "any" or they are the step's only approver.
pub fn keeper_could_decide_alone(steps: &[ResolvedStep], keeper: PersonId) -> bool {
    steps.iter().all(|s| {
        s.approvers.contains(&keeper)
            && (s.rule == StepRule::Any || s.approvers.iter().all(|p| *p == keeper))
    })
}

/// An approver's verdict.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Verdict {
    Approve,
    Reject,
}

keyed_enum!(Verdict {
    Approve => "approve",
    Reject => "reject",
});

/// One recorded decision: who, on which step, what.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    pub step: usize,
    pub person: PersonId,
    pub verdict: Verdict,
}

/// Why a decision was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecisionError {
    #[error("the review is over")]
    Finished,
    #[error("you are not an approver of the current step")]
    NotAnApprover,
    #[error("you have already decided this step")]
    AlreadyDecided,
}

/// What a decision led to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The step still waits for others (rule "all").
    Waiting,
    /// The step passed; the review moves to step `next`.
    NextStep { next: usize },
    /// The last step passed: the application is approved.
    Approved,
    /// A rejection ends the review.
    Rejected,
}

/// The review of one application: its resolved steps and the decisions so far.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Review {
    steps: Vec<ResolvedStep>,
    decisions: Vec<Decision>,
}

impl Review {
    /// A review with decisions already recorded (read back from storage, in order).
    /// Decisions that do not fit are refused, so a stored review is always consistent.
    pub fn replay(
        steps: Vec<ResolvedStep>,
        decisions: &[Decision],
    ) -> Result<Review, DecisionError> {
        let mut review = Review {
            steps,
            decisions: Vec::new(),
        };
        for d in decisions {
            if review.current_step() != Some(d.step) {
                return Err(DecisionError::Finished);
            }
            review.decide(d.person, d.verdict)?;
        }
        Ok(review)
    }

    pub fn steps(&self) -> &[ResolvedStep] {
        &self.steps
    }

    pub fn decisions(&self) -> &[Decision] {
        &self.decisions
    }

    fn rejected(&self) -> bool {
        self.decisions.iter().any(|d| d.verdict == Verdict::Reject)
    }

    fn step_passed(&self, index: usize) -> bool {
        let Some(step) = self.steps.get(index) else {
            return false;
        };
        let approved: BTreeSet<PersonId> = self
            .decisions
            .iter()
            .filter(|d| d.step == index && d.verdict == Verdict::Approve)
            .map(|d| d.person)
            .collect();
        match step.rule {
            StepRule::Any => !approved.is_empty(),
            StepRule::All => step.approvers.iter().all(|p| approved.contains(p)),
        }
    }

    /// The index of the step waiting for decisions, or `None` when the review is over.
    pub fn current_step(&self) -> Option<usize> {
        if self.rejected() {
            return None;
        }
        (0..self.steps.len()).find(|i| !self.step_passed(*i))
    }

    /// Whether every step passed.
    pub fn is_approved(&self) -> bool {
        !self.rejected() && self.current_step().is_none()
    }

    /// The people who still have to decide the current step.
    pub fn waiting_on(&self) -> Vec<PersonId> {
        let Some(index) = self.current_step() else {
            return Vec::new();
        };
        self.steps[index]
            .approvers
            .iter()
            .copied()
            .filter(|p| {
                !self
                    .decisions
                    .iter()
                    .any(|d| d.step == index && d.person == *p)
            })
            .collect()
    }

    /// Records `person`'s verdict on the current step.
    pub fn decide(&mut self, person: PersonId, verdict: Verdict) -> Result<Outcome, DecisionError> {
        let index = self.current_step().ok_or(DecisionError::Finished)?;
        if !self.steps[index].approvers.contains(&person) {
            return Err(DecisionError::NotAnApprover);
        }
        if self
            .decisions
            .iter()
            .any(|d| d.step == index && d.person == person)
        {
            return Err(DecisionError::AlreadyDecided);
        }
        self.decisions.push(Decision {
            step: index,
            person,
            verdict,
        });
        if verdict == Verdict::Reject {
            return Ok(Outcome::Rejected);
        }
        if !self.step_passed(index) {
            return Ok(Outcome::Waiting);
        }
        match self.current_step() {
            Some(next) => Ok(Outcome::NextStep { next }),
            None => Ok(Outcome::Approved),
        }
    }

    /// Whether the next decision could be the last one: the current step is the last
    /// step and one more approval would pass it. (Withdrawal stays allowed until the
    /// last decision is recorded.)
    pub fn last_step_open(&self) -> bool {
        self.current_step() == Some(self.steps.len().saturating_sub(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeMap;

    fn p(n: u8) -> PersonId {
        PersonId::from_bytes([n; 16])
    }

    struct Dir {
        roles: BTreeMap<RoleId, Vec<PersonId>>,
        blocked: Vec<PersonId>,
    }

    impl Directory for Dir {
        fn role_members(&self, role: RoleId) -> Vec<PersonId> {
            self.roles.get(&role).cloned().unwrap_or_default()
        }
        fn may_approve(&self, person: PersonId) -> bool {
            !self.blocked.contains(&person)
        }
    }

    fn dir() -> Dir {
        Dir {
            roles: BTreeMap::from([(RoleId::from_bytes([9; 16]), vec![p(5), p(6), p(1)])]),
            blocked: vec![p(7)],
        }
    }

    fn step(
        name: &str,
        approvers: Approvers,
        rule: StepRule,
        condition: Option<Condition>,
    ) -> Step {
        Step {
            name: StepName::parse(name).unwrap(),
            approvers,
            rule,
            condition,
        }
    }

    fn facts() -> Facts {
        Facts {
            applicant: p(1),
            count: StampCount::new(3).unwrap(),
            seal_level: SealLevel::new(2).unwrap(),
            stamp_kind: StampKind::Ordinary,
            keeper: Some(p(4)),
            department_head: Some(p(2)),
        }
    }

    fn two_step_flow() -> Flow {
        Flow::new(vec![
            step("部门负责人", Approvers::DepartmentHead, StepRule::Any, None),
            step(
                "法务",
                Approvers::Role(RoleId::from_bytes([9; 16])),
                StepRule::All,
                None,
            ),
            step(
                "总经理",
                Approvers::People(vec![p(8)]),
                StepRule::Any,
                Some(Condition::CountAbove(10)),
            ),
        ])
        .unwrap()
    }

    #[test]
    fn flow_definitions_are_checked() {
        assert_eq!(Flow::new(vec![]), Err(FlowError::NoUnconditionalStep));
        assert_eq!(
            Flow::new(vec![step(
                "x",
                Approvers::SealKeeper,
                StepRule::Any,
                Some(Condition::SealLevel1)
            )]),
            Err(FlowError::NoUnconditionalStep)
        );
        assert_eq!(
            Flow::new(vec![step(
                "x",
                Approvers::People(vec![]),
                StepRule::Any,
                None
            )]),
            Err(FlowError::NoApprovers { step: 1 })
        );
        let many = (0..11)
            .map(|_| step("x", Approvers::SealKeeper, StepRule::Any, None))
            .collect();
        assert_eq!(Flow::new(many), Err(FlowError::TooManySteps));
    }

    #[test]
    fn conditions_add_steps_and_the_applicant_is_left_out() {
        let flow = two_step_flow();
        let steps = resolve(&flow, &facts(), &dir()).unwrap();
        assert_eq!(steps.len(), 2, "count 3 does not add the third step");
        assert_eq!(steps[0].approvers, vec![p(2)]);
        assert_eq!(
            steps[1].approvers,
            vec![p(5), p(6)],
            "applicant p1 left out"
        );
        let mut big = facts();
        big.count = StampCount::new(11).unwrap();
        assert_eq!(resolve(&flow, &big, &dir()).unwrap().len(), 3);
        assert!(Condition::SealLevel1.holds(&Facts {
            seal_level: SealLevel::new(1).unwrap(),
            ..facts()
        }));
        assert!(Condition::StampKindIs(StampKind::TakeOut).holds(&Facts {
            stamp_kind: StampKind::TakeOut,
            ..facts()
        }));
    }

    #[test]
    fn empty_steps_and_keeper_alone_are_refused() {
        let head_only = Flow::new(vec![step(
            "h",
            Approvers::DepartmentHead,
            StepRule::Any,
            None,
        )])
        .unwrap();
        let mut f = facts();
        f.department_head = Some(p(1));
        assert!(
            matches!(
                resolve(&head_only, &f, &dir()),
                Err(ResolveError::NobodyToApprove { .. })
            ),
            "the applicant heads their own department"
        );
        f.department_head = Some(p(7));
        assert!(matches!(
            resolve(&head_only, &f, &dir()),
            Err(ResolveError::NobodyToApprove { .. })
        ));

        let keeper_only =
            Flow::new(vec![step("k", Approvers::SealKeeper, StepRule::Any, None)]).unwrap();
        assert_eq!(
            resolve(&keeper_only, &facts(), &dir()),
            Err(ResolveError::KeeperOnlyApprover)
        );
        let keeper_or_other = Flow::new(vec![step(
            "k",
            Approvers::People(vec![p(4), p(5)]),
            StepRule::Any,
            None,
        )])
        .unwrap();
        assert_eq!(
            resolve(&keeper_or_other, &facts(), &dir()),
            Err(ResolveError::KeeperOnlyApprover),
            "the keeper could pass the only step alone"
        );
        let keeper_and_other = Flow::new(vec![step(
            "k",
            Approvers::People(vec![p(4), p(5)]),
            StepRule::All,
            None,
        )])
        .unwrap();
        assert!(resolve(&keeper_and_other, &facts(), &dir()).is_ok());
        let head_then_keeper = Flow::new(vec![
            step("h", Approvers::DepartmentHead, StepRule::Any, None),
            step("k", Approvers::SealKeeper, StepRule::Any, None),
        ])
        .unwrap();
        assert!(resolve(&head_then_keeper, &facts(), &dir()).is_ok());
    }

    #[test]
    fn a_review_runs_step_by_step() {
        let steps = resolve(&two_step_flow(), &facts(), &dir()).unwrap();
        let mut r = Review::replay(steps, &[]).unwrap();
        assert_eq!(r.current_step(), Some(0));
        assert_eq!(
            r.decide(p(5), Verdict::Approve),
            Err(DecisionError::NotAnApprover)
        );
        assert_eq!(
            r.decide(p(2), Verdict::Approve),
            Ok(Outcome::NextStep { next: 1 })
        );
        assert!(r.last_step_open());
        assert_eq!(r.waiting_on(), vec![p(5), p(6)]);
        assert_eq!(r.decide(p(5), Verdict::Approve), Ok(Outcome::Waiting));
        assert_eq!(
            r.decide(p(5), Verdict::Approve),
            Err(DecisionError::AlreadyDecided)
        );
        assert_eq!(r.decide(p(6), Verdict::Approve), Ok(Outcome::Approved));
        assert!(r.is_approved());
        assert_eq!(
            r.decide(p(6), Verdict::Approve),
            Err(DecisionError::Finished)
        );
        let again = Review::replay(r.steps().to_vec(), r.decisions()).unwrap();
        assert_eq!(again, r);
    }

    #[test]
    fn a_rejection_ends_the_review() {
        let steps = resolve(&two_step_flow(), &facts(), &dir()).unwrap();
        let mut r = Review::replay(steps, &[]).unwrap();
        assert_eq!(r.decide(p(2), Verdict::Reject), Ok(Outcome::Rejected));
        assert_eq!(r.current_step(), None);
        assert!(!r.is_approved());
        assert_eq!(
            r.decide(p(5), Verdict::Approve),
            Err(DecisionError::Finished)
        );
    }

    proptest! {
        /// Whatever people try, an approved review has every step passed by its own
        /// approvers, and nobody decided a step twice.
        #[test]
        fn reviews_only_approve_when_every_step_passed(
            attempts in proptest::collection::vec((0u8..10, any::<bool>()), 0..30),
        ) {
            let steps = resolve(&two_step_flow(), &facts(), &dir()).unwrap();
            let mut r = Review::replay(steps.clone(), &[]).unwrap();
            for (who, approve) in attempts {
                let verdict = if approve { Verdict::Approve } else { Verdict::Reject };
                let _ = r.decide(p(who), verdict);
            }
            for d in r.decisions() {
                prop_assert!(steps[d.step].approvers.contains(&d.person));
                prop_assert_ne!(d.person, p(1), "never the applicant");
                let twice = r.decisions().iter().filter(|e| e.step == d.step && e.person == d.person).count();
                prop_assert_eq!(twice, 1);
            }
            if r.is_approved() {
                prop_assert!(r.decisions().iter().all(|d| d.verdict == Verdict::Approve));
                prop_assert!(r.decisions().iter().any(|d| d.step == 0 && d.person == p(2)));
                prop_assert!(r.decisions().iter().any(|d| d.step == 1 && d.person == p(5)));
                prop_assert!(r.decisions().iter().any(|d| d.step == 1 && d.person == p(6)));
            }
            let again = Review::replay(steps, r.decisions());
            prop_assert_eq!(again, Ok(r));
        }
    }
}
