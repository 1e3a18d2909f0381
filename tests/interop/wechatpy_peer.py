"""WeChat's side of a safe-mode exchange, played by wechatpy (an independent implementation).

Reads one JSON request on stdin and writes one JSON answer on stdout:
  {"op": "encrypt", "token", "aes_key", "appid", "xml", "nonce", "timestamp"}
      -> {"encrypt", "msg_signature"}
  {"op": "decrypt", "token", "aes_key", "appid", "reply"}
      -> {"xml"}  (the reply envelope's signature is verified by wechatpy)
"""
import json
import re
import sys

from wechatpy.crypto import WeChatCrypto


def field(xml, name):
    match = re.search(r"<%s>(?:<!\[CDATA\[)?(.*?)(?:\]\]>)?</%s>" % (name, name), xml, re.S)
    if not match:
        raise SystemExit("no <%s> in %r" % (name, xml))
    return match.group(1)


def main():
    request = json.load(sys.stdin)
    crypto = WeChatCrypto(request["token"], request["aes_key"], request["appid"])
    if request["op"] == "encrypt":
        envelope = crypto.encrypt_message(request["xml"], request["nonce"], request["timestamp"])
        answer = {"encrypt": field(envelope, "Encrypt"), "msg_signature": field(envelope, "MsgSignature")}
    else:
        reply = request["reply"]
        xml = crypto.decrypt_message(
            reply, field(reply, "MsgSignature"), field(reply, "TimeStamp"), field(reply, "Nonce")
        )
        answer = {"xml": xml}
    json.dump(answer, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
