#include "protocol/message_parser.h"

#include "protocol/plain_message.h"

namespace classchat::protocol {

ParseResult MessageParser::parse(std::string_view object) {
  return parseImpl(object, true);
}

ParseResult MessageParser::parseForRegistration(std::string_view object) {
  return parseImpl(object, false);
}

ParseResult MessageParser::parseImpl(std::string_view object, bool requireTo) {
  ParseResult result;
  ClientMessage plain;
  if (parsePlainMessage(object, plain)) {
    result.message = plain;
    return result;
  }
  return parseWithDom(object, requireTo);
}

ParseResult MessageParser::parseWithDom(std::string_view object, bool requireTo) {
  ParseResult result;
  simdjson::dom::element root;
  // realloc_if_needed copies the bytes into the parser's padded buffer when the input
  // cannot be read past its end safely, so views from any buffer are accepted.
  if (const auto err = parser_.parse(object.data(), object.size(), true).get(root)) {
    if (err == simdjson::UTF8_ERROR) {
      result.error = "invalid UTF-8 in message: text must be UTF-8";
    } else {
      result.error = std::string("malformed JSON (") + simdjson::error_message(err) + ")";
    }
    return result;
  }
  simdjson::dom::object fields;
  if (root.get_object().get(fields)) {
    result.error = "expected a JSON object";
    return result;
  }

  ClientMessage message;
  simdjson::dom::element name;
  if (!fields.at_pointer("/from/name").get(name)) {
    std::string_view text;
    if (!name.get_string().get(text)) message.fromName = text;
  }

  simdjson::dom::element to;
  if (fields["to"].get(to)) {
    if (requireTo) {
      result.error = "message has no 'to' field (a username or a /command)";
      return result;
    }
  } else if (to.get_string().get(message.to)) {
    result.error = "'to' must be a string (a username or a /command)";
    return result;
  } else {
    message.hasTo = true;
  }

  simdjson::dom::element msg;
  if (!fields["msg"].get(msg)) {
    std::string_view text;
    if (msg.get_string().get(text)) {
      message.msgPresentButNotString = true;
    } else {
      message.msg = text;
    }
  }
  result.message = message;
  return result;
}

}  // namespace classchat::protocol
