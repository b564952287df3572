#include "bench/websocket_driver.h"

#include <vector>

#include <fmt/format.h>

namespace classchat::bench {

WebSocketDriver::WebSocketDriver(std::string host, std::uint64_t seed)
    : framing_(seed),
      host_(std::move(host)),
      key_(WebSocketFraming::makeKey(seed)),
      expectedAccept_(WebSocketFraming::acceptFor(key_)) {}

void WebSocketDriver::frameScratch(std::string& out) {
  // The TCP framing's newline is not part of the object; a frame is the object alone.
  if (!scratch_.empty() && scratch_.back() == '\n') scratch_.pop_back();
  framing_.appendFrame(out, WebSocketFraming::kText, scratch_);
  scratch_.clear();
}

void WebSocketDriver::appendLogin(std::string& out, std::string_view user) {
  WebSocketFraming::appendUpgradeRequest(out, host_, key_);
  inner_.appendLogin(scratch_, user);
  frameScratch(out);
}

void WebSocketDriver::appendDirect(std::string& out, std::string_view from, std::string_view to,
                                   std::string_view text) {
  inner_.appendDirect(scratch_, from, to, text);
  frameScratch(out);
}

void WebSocketDriver::appendShout(std::string& out, std::string_view from, std::string_view text) {
  inner_.appendShout(scratch_, from, text);
  frameScratch(out);
}

bool WebSocketDriver::appendCommand(std::string& out, std::string_view command,
                                    std::string_view arg) {
  inner_.appendCommand(scratch_, command, arg);
  frameScratch(out);
  return true;
}

void WebSocketDriver::deliver(std::string_view message, IncomingSink& sink) {
  sink.onIncoming(inner_.parseFrame(message));
}

std::size_t WebSocketDriver::parse(std::string_view input, IncomingSink& sink) {
  std::size_t consumed = 0;
  // A server frame never starts with 'H' (that byte has RSV2 set), so input starting
  // with it is the response to the upgrade, at the start of the connection.
  if (!input.empty() && input.front() == 'H') {
    std::string reason;
    std::size_t head = 0;
    switch (WebSocketFraming::checkResponse(input, expectedAccept_, head, reason)) {
      case WebSocketFraming::Handshake::kIncomplete:
        return 0;
      case WebSocketFraming::Handshake::kRefused: {
        Incoming refusal;  // the engine counts it as a refusal and closes
        refusal.kind = Incoming::Kind::kError;
        refusal.text = reason;
        sink.onIncoming(refusal);
        return input.size();
      }
      case WebSocketFraming::Handshake::kAccepted:
        consumed = head;
        break;
    }
  }
  std::string error;
  std::vector<WebSocketFraming::Frame> controls;  // inside a fragmented message
  while (consumed < input.size()) {
    WebSocketFraming::Frame frame;
    std::string_view rest = input.substr(consumed);
    auto status = WebSocketFraming::decode(rest, ClassChatDriver::kMaxFrameBytes, frame, error);
    if (status == WebSocketFraming::Decode::kIncomplete) break;
    if (status == WebSocketFraming::Decode::kError) {
      sink.closeConnection(error);
      return input.size();
    }
    std::size_t end = consumed + frame.size;
    if (frame.opcode == WebSocketFraming::kText && frame.fin) {
      deliver(frame.payload, sink);
    } else if (frame.opcode == WebSocketFraming::kText) {
      // Gather the fragments up to the final one; consume nothing until it is here.
      message_.assign(frame.payload);
      controls.clear();
      bool complete = false;
      while (!complete) {
        WebSocketFraming::Frame next;
        status = WebSocketFraming::decode(input.substr(end), ClassChatDriver::kMaxFrameBytes, next,
                                          error);
        if (status == WebSocketFraming::Decode::kIncomplete) return consumed;
        if (status == WebSocketFraming::Decode::kError ||
            (next.opcode != WebSocketFraming::kContinuation && (next.opcode & 0x8) == 0) ||
            message_.size() + next.payload.size() > ClassChatDriver::kMaxFrameBytes) {
          sink.closeConnection(status == WebSocketFraming::Decode::kError
                                   ? std::string_view(error)
                                   : "websocket: a bad fragment sequence from the server");
          return input.size();
        }
        end += next.size;
        if (next.opcode == WebSocketFraming::kContinuation) {
          message_.append(next.payload);
          complete = next.fin;
        } else {
          controls.push_back(next);
        }
      }
      deliver(message_, sink);
      for (const WebSocketFraming::Frame& control : controls) {
        if (control.opcode == WebSocketFraming::kPing) {
          std::string pong;
          framing_.appendFrame(pong, WebSocketFraming::kPong, control.payload);
          sink.sendRaw(pong);
        } else if (control.opcode == WebSocketFraming::kClose) {
          std::string close;
          framing_.appendFrame(close, WebSocketFraming::kClose, control.payload.substr(0, 2));
          sink.sendRaw(close);
          sink.closeConnection("closed by server (websocket close)");
          return input.size();
        }
      }
    } else if (frame.opcode == WebSocketFraming::kPing) {
      std::string pong;
      framing_.appendFrame(pong, WebSocketFraming::kPong, frame.payload);
      sink.sendRaw(pong);
    } else if (frame.opcode == WebSocketFraming::kClose) {
      // Echo the status code; the engine closes without waiting (the server closes too).
      std::string close;
      framing_.appendFrame(close, WebSocketFraming::kClose, frame.payload.substr(0, 2));
      sink.sendRaw(close);
      std::string reason = "closed by server (websocket close";
      if (frame.payload.size() >= 2) {
        reason += fmt::format(
            " {}", (static_cast<unsigned>(static_cast<std::uint8_t>(frame.payload[0])) << 8) |
                       static_cast<std::uint8_t>(frame.payload[1]));
      }
      reason += ")";
      sink.closeConnection(reason);
      return input.size();
    } else if (frame.opcode != WebSocketFraming::kPong) {
      // A binary frame or a continuation with no message: not classchat.
      Incoming malformed;
      malformed.text = "a WebSocket frame that is not a text message";
      sink.onIncoming(malformed);
    }
    consumed = end;
  }
  return consumed;
}

}  // namespace classchat::bench
