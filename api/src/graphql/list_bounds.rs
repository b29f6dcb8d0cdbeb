//! Every list a client can send has a bound in `validate::bounds`, checked and documented: read off
//! the schema, so a new list argument without one fails here.

#[cfg(test)]
mod tests {
    use async_graphql::parser::types::{BaseType, InputValueDefinition, TypeKind, TypeSystemDefinition};

    use crate::service::validate::bounds::*;

    /// Every list a client can send: (input type or `Type.field` of an argument, field, bound).
    const LISTS: &[(&str, &str, usize)] = &[
        ("CourseFilter", "statuses", ENUM_VALUES),
        ("CourseFilter", "skillIds", FILTER_SKILLS),
        ("CourseFilter", "dqrLevels", DQR_LEVELS),
        ("CourseFilter", "formats", ENUM_VALUES),
        ("CourseFilter", "schedules", ENUM_VALUES),
        ("CourseFilter", "funding", ENUM_VALUES),
        ("CourseFilter", "languages", LANGUAGES),
        ("CourseInput", "skillIds", COURSE_SKILLS),
        ("CourseInput", "keywords", KEYWORDS),
        ("CourseInput", "languages", LANGUAGES),
        ("CourseInput", "fundingOptions", ENUM_VALUES),
        ("CourseSearchFilter", "skills", FILTER_SKILLS),
        ("CourseSearchFilter", "dqrLevels", DQR_LEVELS),
        ("CourseSearchFilter", "formats", ENUM_VALUES),
        ("CourseSearchFilter", "schedules", ENUM_VALUES),
        ("CourseSearchFilter", "funding", ENUM_VALUES),
        ("CourseSearchFilter", "bundeslaender", ENUM_VALUES),
        ("CourseSearchFilter", "languages", LANGUAGES),
        ("CreateWebhookEndpointInput", "eventTypes", ENUM_VALUES),
        ("NeedFilter", "statuses", ENUM_VALUES),
        ("NeedFilter", "skillIds", FILTER_SKILLS),
        ("NeedFilter", "bundeslaender", ENUM_VALUES),
        ("NeedInput", "skills", NEED_SKILLS),
        ("NeedInput", "fundingWanted", ENUM_VALUES),
        ("SkillInput", "synonyms", SYNONYMS),
        ("JobProfileInput", "skills", PROFILE_SKILLS),
        ("PriorLearningInput", "skillIds", ASSESSMENTS),
        ("GapChoiceInput", "staffIds", STAFF_IDS),
        ("QueryRoot.gapAnalysis", "staffIds", STAFF_IDS),
        ("QueryRoot.learningPath", "staffIds", STAFF_IDS),
        ("MutationRoot.recordAssessment", "levels", ASSESSMENTS),
        ("MutationRoot.draftNeedFromGaps", "gaps", GAP_CHOICES),
        ("MutationRoot.draftNeedFromGaps", "staffIds", STAFF_IDS),
    ];

    /// The schema's list inputs and arguments, with their descriptions.
    fn schema_lists() -> Vec<(String, String, String)> {
        let sdl = crate::graphql::sdl();
        let document = async_graphql::parser::parse_schema(&sdl).expect("the SDL parses");
        let mut lists = Vec::new();
        let mut add = |owner: String, value: &InputValueDefinition| {
            if matches!(value.ty.node.base, BaseType::List(_)) {
                let description = value.description.as_ref().map(|d| d.node.clone()).unwrap_or_default();
                lists.push((owner, value.name.node.to_string(), description));
            }
        };
        for definition in &document.definitions {
            let TypeSystemDefinition::Type(ty) = definition else { continue };
            let name = ty.node.name.node.to_string();
            match &ty.node.kind {
                TypeKind::InputObject(input) => {
                    for field in &input.fields {
                        add(name.clone(), &field.node);
                    }
                }
                TypeKind::Object(object) => {
                    for field in &object.fields {
                        for argument in &field.node.arguments {
                            add(format!("{name}.{}", field.node.name.node), &argument.node);
                        }
                    }
                }
                _ => {}
            }
        }
        lists
    }

    /// A new list argument needs a bound: this table, a check with `at_most`, and its doc.
    #[test]
    fn every_list_argument_of_the_schema_is_bounded_and_documented() {
        let lists = schema_lists();
        for (owner, field, description) in &lists {
            let Some(&(_, _, bound)) = LISTS.iter().find(|(o, f, _)| o == owner && f == field) else {
                panic!("{owner}.{field} is a list without a bound in validate::bounds");
            };
            assert!(
                description.to_lowercase().contains(&format!("at most {bound} values")),
                "the doc of {owner}.{field} does not state its bound of {bound}: {description:?}"
            );
        }
        for (owner, field, _) in LISTS {
            assert!(
                lists.iter().any(|(o, f, _)| o == owner && f == field),
                "{owner}.{field} is no list of the schema any more"
            );
        }
    }
}
