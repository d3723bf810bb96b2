//! Apex (SN1): Macrocosmos' Constellation API at
//! <https://constellation.api.cloud.macrocosmos.ai>, whose `apex.v1.ApexService/ChatCompletion`
//! has the subnet's miners answer a chat. The request is OpenAI-like with Apex's own sampling
//! parameters; the answer has the OpenAI shape in protobuf JSON.

use ledger::record::Endpoint;
use serde_json::{json, Value};

use super::{openai, prompt, CallInput, SubnetRequest, SubnetResponse};

/// The request: deterministic sampling, and `json_format` when a schema is given. Apex takes no
/// schema, so the schema travels in the user message (which [`prompt::user_message`] puts there
/// for every LLM).
pub(super) fn chat(endpoint: &Endpoint, input: &CallInput) -> SubnetRequest {
    let body = json!({
        "messages": prompt::messages(input),
        "sampling_parameters": {"temperature": 0.0, "top_p": 1.0, "max_new_tokens": 4096, "do_sample": false},
        "json_format": input.response_schema.is_some(),
    });
    SubnetRequest::json_post(endpoint, &body)
}

/// Apex answers in the OpenAI shape; the fields read (`choices[0].message.content`) have the
/// same names in its protobuf JSON.
pub(super) fn parse_chat(json: &Value) -> Result<SubnetResponse, String> {
    openai::parse_chat(json)
}
