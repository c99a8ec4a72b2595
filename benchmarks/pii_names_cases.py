"""A small labelled set for person names and postal addresses in dialogue text, Chinese and English.

Written by hand for issue 10 (``benchmarks.pii_names_recall`` measures ``agents.pii_names`` on
it): customer-service and chat sentences as logs hold them, each with the names and addresses a
reviewer would redact. A third of the rows hold neither, to measure false alarms (brands, places
that are no one's address, words that look like surnames).
"""

from __future__ import annotations

Case = tuple[str, str, dict[str, list[str]]]
"""(language, text, {"name": [...], "address": [...]}): the spans a reviewer would redact."""

CASES: list[Case] = [
    ("zh", "你好，我是张伟，上周在你们店买的耳机坏了。", {"name": ["张伟"]}),
    ("zh", "请帮我查一下王芳的订单，她是我老婆。", {"name": ["王芳"]}),
    ("zh", "快递员李明说放在门卫了，可是我没收到。", {"name": ["李明"]}),
    ("zh", "我叫刘洋，手机尾号是3344。", {"name": ["刘洋"]}),
    ("zh", "收件人陈静，地址是北京市朝阳区建国路88号。", {"name": ["陈静"], "address": ["北京市朝阳区建国路88号"]}),
    ("zh", "麻烦寄到上海市浦东新区世纪大道100号，谢谢。", {"address": ["上海市浦东新区世纪大道100号"]}),
    ("zh", "我家在杭州市西湖区文三路478号3单元。", {"address": ["杭州市西湖区文三路478号3单元"]}),
    ("zh", "赵丽颖的同款裙子还有货吗？", {"name": ["赵丽颖"]}),
    ("zh", "上次是客服小周帮我处理的，态度很好。", {"name": ["小周"]}),
    ("zh", "我爸爸周建国今天来办卡，需要带什么？", {"name": ["周建国"]}),
    ("zh", "请联系我们的经理孙晓东。", {"name": ["孙晓东"]}),
    ("zh", "地址：广州市天河区天河路385号太古汇2楼", {"address": ["广州市天河区天河路385号"]}),
    ("zh", "我住在成都市武侯区人民南路四段12号。", {"address": ["成都市武侯区人民南路四段12号"]}),
    ("zh", "黄磊老师的课什么时候开始？", {"name": ["黄磊"]}),
    ("zh", "帮我转告马晓琳，明天的会议取消了。", {"name": ["马晓琳"]}),
    ("zh", "深圳市南山区科技园南区粤海街道18号楼", {"address": ["深圳市南山区科技园南区粤海街道18号楼"]}),
    ("zh", "我是林雪梅的妈妈，想问问她的成绩。", {"name": ["林雪梅"]}),
    ("zh", "寄件人郭德纲，寄到天津市和平区南京路189号。", {"name": ["郭德纲"], "address": ["天津市和平区南京路189号"]}),
    ("zh", "今天天气真好，想去西湖走走。", {}),
    ("zh", "我的信用卡积分怎么兑换里程？", {}),
    ("zh", "最近工作压力好大，总是睡不着。", {}),
    ("zh", "华为手机的售后在哪里？", {}),
    ("zh", "上海的房价太高了，年轻人买不起。", {}),
    ("zh", "北京路那家火锅店还开着吗？", {}),
    ("zh", "周末想去成都吃火锅，有推荐吗？", {}),
    ("zh", "高铁票改签要收手续费吗？", {}),
    ("zh", "王者荣耀又更新了，好多bug。", {}),
    ("zh", "我想把白金卡升级成钻石卡。", {}),
    ("en", "Hi, my name is John Smith and my order never arrived.", {"name": ["John Smith"]}),
    ("en", "Please ask Mrs. Johnson to call me back.", {"name": ["Johnson"]}),
    ("en", "This is Emily Clark from the billing team.", {"name": ["Emily Clark"]}),
    ("en", "I'm David, I ordered the blue jacket last week.", {"name": ["David"]}),
    ("en", "Ship it to 221 Baker Street, London please.", {"address": ["221 Baker Street"]}),
    ("en", "My address is 1600 Pennsylvania Avenue, Washington.", {"address": ["1600 Pennsylvania Avenue"]}),
    ("en", "Dr. Patel said the prescription is ready.", {"name": ["Patel"]}),
    ("en", "Call me Maria, everyone does.", {"name": ["Maria"]}),
    ("en", "The parcel went to 42 Elm Road, Apt 5 instead of my home.", {"address": ["42 Elm Road, Apt 5"]}),
    ("en", "Sarah Connor from accounting approved the refund.", {"name": ["Sarah Connor"]}),
    ("en", "I spoke with Michael yesterday and he promised a refund.", {"name": ["Michael"]}),
    ("en", "We moved to 350 Fifth Avenue last month.", {"address": ["350 Fifth Avenue"]}),
    ("en", "Please send the invoice to Robert Brown.", {"name": ["Robert Brown"]}),
    ("en", "Deliver to 10 Downing St, the back door.", {"address": ["10 Downing St"]}),
    ("en", "My card was charged twice for the same order.", {}),
    ("en", "Is the Apple Store on Main Street open on Sunday?", {}),
    ("en", "I love the new iPhone, but the battery is bad.", {}),
    ("en", "The weather in Paris was lovely this week.", {}),
    ("en", "Can I change my flight to next Friday?", {}),
    ("en", "I am so tired of waiting on hold.", {}),
    ("en", "This is ridiculous, I want a refund now.", {}),
    ("en", "Call me back when the package arrives.", {}),
]

HELD_OUT: list[Case] = [
    ("zh", "您好，我是何志强，想问一下贷款进度。", {"name": ["何志强"]}),
    ("zh", "帮我把发票开给吴敏，抬头写公司。", {"name": ["吴敏"]}),
    ("zh", "邮寄地址南京市鼓楼区中山北路200号5栋", {"address": ["南京市鼓楼区中山北路200号5栋"]}),
    ("zh", "昨天我和徐磊一起去的营业厅。", {"name": ["徐磊"]}),
    ("zh", "送到武汉市洪山区珞喻路1037号就行。", {"address": ["武汉市洪山区珞喻路1037号"]}),
    ("zh", "小米的新款手机什么时候发售？", {}),
    ("zh", "我在中山公园附近，离你们店远吗？", {}),
    ("zh", "退款什么时候到账？已经等了一周了。", {}),
    ("en", "My name is Olivia Martinez, account ending 4421.", {"name": ["Olivia Martinez"]}),
    ("en", "Mr. Nguyen will pick it up on Monday.", {"name": ["Nguyen"]}),
    ("en", "Please update my address to 77 Maple Drive.", {"address": ["77 Maple Drive"]}),
    ("en", "Jessica told me the refund was approved.", {"name": ["Jessica"]}),
    ("en", "I live at 5 Queen Square, Bath.", {"address": ["5 Queen Square"]}),
    ("en", "The Amazon driver left it at the wrong door.", {}),
    ("en", "Can you explain the late fee on my statement?", {}),
    ("en", "I am Sam and I need help with my password.", {"name": ["Sam"]}),
]
"""Written after the rules were last changed, never used to change them: the figures to trust."""
