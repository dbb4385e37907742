//! Security questions: a catalogue of prompts, answers normalised before hashing, and the rule
//! that every prompt offered must be answered right.
//!
//! Hashing is the caller's (Argon2id, as for passwords): this module normalises answers and
//! decides, given a function that checks one normalised answer against its stored hash.

use rand_core::CryptoRng;

/// The questions a customer can choose from: (id, prompt).
pub const CATALOGUE: &[(&str, &str)] = &[
    ("first-pet", "What was the name of your first pet?"),
    ("first-school", "What was the name of your first school?"),
    ("birth-city", "In which city were you born?"),
    (
        "first-street",
        "What was the name of the street you grew up on?",
    ),
    (
        "first-employer",
        "What was the name of your first employer?",
    ),
    (
        "childhood-friend",
        "What was the first name of your childhood best friend?",
    ),
    ("first-car", "What was the make of your first car?"),
    (
        "favourite-teacher",
        "What was the surname of your favourite teacher?",
    ),
];

/// The prompt of a catalogue question.
pub fn prompt(id: &str) -> Option<&'static str> {
    CATALOGUE
        .iter()
        .find(|(qid, _)| *qid == id)
        .map(|(_, p)| *p)
}

/// Fewest questions a customer answers at enrolment.
pub const MIN_ENROLLED: usize = 3;
/// Most questions a customer answers at enrolment.
pub const MAX_ENROLLED: usize = 5;

/// Longest answer accepted, after normalisation.
pub const MAX_ANSWER_CHARS: usize = 100;

/// Why answers were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuestionsError {
    /// An answer is empty or too long after normalisation, or holds control characters.
    #[error("invalid answer")]
    InvalidAnswer,
    /// A question that is not in the catalogue.
    #[error("unknown question")]
    UnknownQuestion,
    /// Not every offered question was answered, or other ones were.
    #[error("answers do not match the questions asked")]
    WrongQuestions,
    /// The same question twice.
    #[error("a question appears twice")]
    Duplicate,
    /// Fewer than [`MIN_ENROLLED`] or more than [`MAX_ENROLLED`] answers.
    #[error("answer 3 to 5 questions")]
    Count,
}

/// Trims, case-folds and collapses inner whitespace, so `"  Rex "` and `"rex"` match.
pub fn normalise_answer(answer: &str) -> Result<String, QuestionsError> {
    if answer.chars().any(|c| c.is_control() && !c.is_whitespace()) {
        return Err(QuestionsError::InvalidAnswer);
    }
    let normalised = answer
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase();
    let len = normalised.chars().count();
    if len == 0 || len > MAX_ANSWER_CHARS {
        return Err(QuestionsError::InvalidAnswer);
    }
    Ok(normalised)
}

/// Checks an enrolment: 3 to 5 catalogue questions, each once, with valid answers; returns
/// the normalised answers to hash.
pub fn enrol(answers: &[(String, String)]) -> Result<Vec<(String, String)>, QuestionsError> {
    if !(MIN_ENROLLED..=MAX_ENROLLED).contains(&answers.len()) {
        return Err(QuestionsError::Count);
    }
    let mut out: Vec<(String, String)> = Vec::with_capacity(answers.len());
    for (id, answer) in answers {
        if prompt(id).is_none() {
            return Err(QuestionsError::UnknownQuestion);
        }
        if out.iter().any(|(seen, _)| seen == id) {
            return Err(QuestionsError::Duplicate);
        }
        out.push((id.clone(), normalise_answer(answer)?));
    }
    Ok(out)
}

/// Picks `count` of the enrolled questions at random to ask.
pub fn choose(enrolled: &[String], count: usize, rng: &mut impl CryptoRng) -> Vec<String> {
    let mut pool: Vec<String> = enrolled.to_vec();
    let mut chosen = Vec::with_capacity(count.min(pool.len()));
    while chosen.len() < count && !pool.is_empty() {
        let mut bytes = [0u8; 4];
        rng.fill_bytes(&mut bytes);
        let index = usize::try_from(u32::from_le_bytes(bytes)).unwrap_or(0) % pool.len();
        chosen.push(pool.swap_remove(index));
    }
    chosen
}

/// Whether `given` answers exactly the `asked` questions, every one right. `matches` checks
/// one normalised answer against the stored hash of that question's answer. Every answer is
/// checked even after a wrong one, so the time taken does not say which was wrong.
pub fn check(
    asked: &[String],
    given: &[(String, String)],
    mut matches: impl FnMut(&str, &str) -> bool,
) -> Result<bool, QuestionsError> {
    if given.len() != asked.len() || asked.iter().any(|q| !given.iter().any(|(id, _)| id == q)) {
        return Err(QuestionsError::WrongQuestions);
    }
    let mut all_right = true;
    for (id, answer) in given {
        let normalised = normalise_answer(answer)?;
        all_right &= matches(id, &normalised);
    }
    Ok(all_right)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pair(id: &str, answer: &str) -> (String, String) {
        (id.to_owned(), answer.to_owned())
    }

    #[test]
    fn answers_are_normalised() {
        assert_eq!(
            normalise_answer("  Rex   the\tDog ").unwrap(),
            "rex the dog"
        );
        assert_eq!(normalise_answer("ÉCOLE").unwrap(), "école");
        assert_eq!(normalise_answer("   "), Err(QuestionsError::InvalidAnswer));
        assert_eq!(
            normalise_answer("a\u{0}b"),
            Err(QuestionsError::InvalidAnswer)
        );
        assert_eq!(
            normalise_answer(&"a".repeat(101)),
            Err(QuestionsError::InvalidAnswer)
        );
    }

    #[test]
    fn enrolment_takes_catalogue_questions_once() {
        let ok = enrol(&[
            pair("first-pet", " Rex "),
            pair("birth-city", "Oslo"),
            pair("first-car", "Saab"),
        ])
        .unwrap();
        assert_eq!(ok[0].1, "rex");
        assert_eq!(
            enrol(&[
                pair("favourite-colour", "blue"),
                pair("birth-city", "Oslo"),
                pair("first-car", "Saab"),
            ]),
            Err(QuestionsError::UnknownQuestion)
        );
        assert_eq!(
            enrol(&[
                pair("first-pet", "a"),
                pair("first-pet", "b"),
                pair("first-car", "Saab"),
            ]),
            Err(QuestionsError::Duplicate)
        );
        assert_eq!(
            enrol(&[pair("first-pet", "a"), pair("birth-city", "b")]),
            Err(QuestionsError::Count)
        );
        let six: Vec<_> = CATALOGUE
            .iter()
            .take(6)
            .map(|(id, _)| pair(id, "x"))
            .collect();
        assert_eq!(enrol(&six), Err(QuestionsError::Count));
    }

    #[test]
    fn every_asked_question_must_be_answered_right() {
        let asked = vec!["first-pet".to_owned(), "birth-city".to_owned()];
        let stored = |id: &str, answer: &str| match id {
            "first-pet" => answer == "rex",
            "birth-city" => answer == "oslo",
            _ => false,
        };
        assert_eq!(
            check(
                &asked,
                &[pair("birth-city", "OSLO"), pair("first-pet", "Rex")],
                stored
            ),
            Ok(true)
        );
        assert_eq!(
            check(
                &asked,
                &[pair("birth-city", "Bergen"), pair("first-pet", "Rex")],
                stored
            ),
            Ok(false)
        );
        assert_eq!(
            check(&asked, &[pair("first-pet", "Rex")], stored),
            Err(QuestionsError::WrongQuestions)
        );
        assert_eq!(
            check(
                &asked,
                &[pair("first-pet", "Rex"), pair("first-car", "Saab")],
                stored
            ),
            Err(QuestionsError::WrongQuestions)
        );
    }

    #[test]
    fn every_answer_is_checked_even_after_a_wrong_one() {
        let asked = vec!["first-pet".to_owned(), "birth-city".to_owned()];
        let mut checked = 0;
        let result = check(
            &asked,
            &[pair("first-pet", "x"), pair("birth-city", "y")],
            |_, _| {
                checked += 1;
                false
            },
        );
        assert_eq!((result, checked), (Ok(false), 2));
    }

    #[test]
    fn choosing_picks_distinct_enrolled_questions() {
        let enrolled: Vec<String> = CATALOGUE
            .iter()
            .take(4)
            .map(|(id, _)| (*id).to_owned())
            .collect();
        let chosen = choose(&enrolled, 2, &mut rand::rng());
        assert_eq!(chosen.len(), 2);
        assert_ne!(chosen[0], chosen[1]);
        assert!(chosen.iter().all(|c| enrolled.contains(c)));
        assert_eq!(choose(&enrolled, 10, &mut rand::rng()).len(), 4);
    }
}
