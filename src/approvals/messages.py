"""The sentences of every error, in English and Japanese, keyed by error code."""

from __future__ import annotations

MESSAGES: dict[str, dict[str, str]] = {
    "error": {"en": "{message}", "ja": "{message}"},
    "definition.invalid": {
        "en": "Workflow file {file} is refused at {key}: {problem}.",
        "ja": "ワークフロー定義 {file} の {key} を受け付けられません: {problem}。",
    },
    "calendar.invalid": {
        "en": "Calendar file {file} is refused at {key}: {problem}.",
        "ja": "カレンダー {file} の {key} を受け付けられません: {problem}。",
    },
    "definition.conflict": {
        "en": (
            "Workflow {workflow} version {version} is already in use with other content; "
            "{file} changed without a new version number. Raise `version` in the file to "
            "publish the change."
        ),
        "ja": (
            "ワークフロー {workflow} の版 {version} は別の内容で使用中です。{file} は版番号を"
            "上げずに変更されています。変更を公開するにはファイルの version を上げてください。"
        ),
    },
    "case.not_found": {
        "en": "No case has the reference {reference}; references look like ENT-2026-0003.",
        "ja": "整理番号 {reference} の案件はありません(整理番号の例: ENT-2026-0003)。",
    },
    "case.unreadable": {
        "en": (
            "{reference} cannot be read: its events are in the log but do not decrypt under the "
            "key kept for it (the key was lost or replaced, or the events were altered), so it "
            "is left out of every list until the audit officer has looked into it (`approvals "
            "audit verify` names it); the other cases are not affected."
        ),
        "ja": (
            "{reference} を読み出せません: イベントはログにありますが、保管されている鍵で復号"
            "できません(鍵が失われたか置き換えられたか、イベントが改変されています)。監査責任者が"
            "確認するまで一覧には表示されません(`approvals audit verify` が報告します)。"
            "他の案件には影響しません。"
        ),
    },
    "case.key_missing": {
        "en": (
            "{reference} cannot be read: its key is missing although it was never disposed of, "
            "so it is left out of every list until the audit officer has looked into it "
            "(`approvals audit verify` names it); the other cases are not affected."
        ),
        "ja": (
            "{reference} を読み出せません: 廃棄されていないのに鍵がありません。監査責任者が"
            "確認するまで一覧には表示されません(`approvals audit verify` が報告します)。"
            "他の案件には影響しません。"
        ),
    },
    "case.flawed_value": {
        "en": (
            "{reference} holds a value kept by an earlier version that is refused today: "
            "{reason} Its deadlines and retention do not count from it; the case is listed "
            "as usual."
        ),
        "ja": (
            "{reference} には以前の版が記録した、現在は受け付けない値があります: {reason}"
            "期限と保存期間はこの値から数えません。案件は通常どおり一覧に表示されます。"
        ),
    },
    "case.uncomputable": {
        "en": (
            "{reference} cannot be listed: the read models cannot compute its rows from what "
            "it holds, so it is left out of the lists (the log keeps it; tell the "
            "administrator); the other cases are not affected."
        ),
        "ja": (
            "{reference} を一覧に表示できません: 記録された内容から一覧の行を計算できない"
            "ため一覧から除いています(ログには残っています。管理者に連絡してください)。"
            "他の案件には影響しません。"
        ),
    },
    "value.not_yet": {
        "en": (
            "{field} is {value}, later than now ({now}): it records something that has "
            "happened, so give the day it happened, today at the latest."
        ),
        "ja": (
            "{field}が {value} で、現在({now})より後です。実際に起きたことの記録なので、"
            "起きた日(遅くとも今日)を入力してください。"
        ),
    },
    "value.before_step": {
        "en": (
            "{field} is {value}, before '{bound}' was recorded on this case ({bound_value}): "
            "it may only happen after that, so give the day it happened."
        ),
        "ja": (
            "{field}が {value} で、この案件の「{bound}」({bound_value})より前です。"
            "それより後にしか行えないため、実際に行った日を入力してください。"
        ),
    },
    "value.before": {
        "en": (
            "{field} is {value}, before {bound} ({bound_value}): it cannot have happened before "
            "that, so give the day it happened."
        ),
        "ja": (
            "{field}が {value} で、{bound}({bound_value})より前です。それより前に起きることは"
            "ないため、実際に起きた日を入力してください。"
        ),
    },
    "value.approved": {
        "en": (
            "{trigger} on {reference} is refused: {field} was approved ({approval}, {on}) as "
            "'{approved}', and '{given}' is not what was approved. What was approved is what "
            "happens: another value is a new notice (file a new case){change}."
        ),
        "ja": (
            "{reference} の{trigger}はできません: {field}は「{approved}」として承認されています"
            "({approval}、{on})。「{given}」は承認された内容ではありません。承認された内容の"
            "とおりに実施してください。変更するには新しい届け出をしてください{change}。"
        ),
    },
    "value.approved_items": {
        "en": (
            "{trigger} on {reference} is refused: {field} names {others}, which the approval "
            "({approval}, {on}) did not cover; it approved '{approved}'. A record may name "
            "some of the items approved, never others: more is a new notice (file a new "
            "case){change}."
        ),
        "ja": (
            "{reference} の{trigger}はできません: {field}に承認されていない {others} が含まれて"
            "います(承認: {approval}、{on}。承認された内容: 「{approved}」)。記録できるのは"
            "承認された項目の一部だけです。増やすには新しい届け出をしてください{change}。"
        ),
    },
    "workflow.not_found": {
        "en": "No workflow is called {workflow}; the known workflows are {known}.",
        "ja": "ワークフロー {workflow} はありません。使えるワークフロー: {known}。",
    },
    "person.unknown": {
        "en": ("No one called {person} is on the roster: only people appointed to a role may act."),
        "ja": "{person} は名簿にないため受け付けません。役割に選任された者だけが操作できます。",
    },
    "step.not_allowed": {
        "en": "Step '{trigger}' is refused for {reference}: it is '{state}'. Allowed now: {allowed}.",
        "ja": "{reference} に「{trigger}」はできません: 現在「{state}」です。今できること: {allowed}。",
    },
    "step.final": {
        "en": "Step '{trigger}' is refused for {reference}: it is '{state}', which is final; "
        "nothing more may happen to it.",
        "ja": "{reference} に「{trigger}」はできません: 「{state}」は終了状態で、これ以上の操作は"
        "できません。",
    },
    "step.unknown": {
        "en": "Workflow {workflow} has no step called {trigger}; its steps are {known}.",
        "ja": "ワークフロー {workflow} に手順「{trigger}」はありません。手順: {known}。",
    },
    "step.not_authorized": {
        "en": (
            "Step '{trigger}' is refused for {person} on {reference}: the step needs "
            "{role:a}{department}, and {person} holds {held}."
        ),
        "ja": (
            "{person} は {reference} に「{trigger}」をできません: この手順には{department}"
            "{role}が必要ですが、{person} の役割は {held} です。"
        ),
    },
    "step.own_case": {
        "en": (
            "Step '{trigger}' is refused for {person} on {reference}: they filed it, and "
            "nobody decides on a case they filed; another {role} must."
        ),
        "ja": (
            "{person} は {reference} に「{trigger}」をできません: 自ら届け出た案件を自ら判断する"
            "ことはできません。別の{role}が行ってください。"
        ),
    },
    "step.separation": {
        "en": (
            "Step '{trigger}' is refused for {person} on {reference}: they took {taken} on it, "
            "and one person takes only one of the notice, the consultation and the approval "
            "on a case; another {role} must."
        ),
        "ja": (
            "{person} は {reference} に「{trigger}」をできません: この案件ですでに{taken}を行って"
            "おり、一つの案件で届け出・協議・承認のうち二つを同じ者が行うことはできません。"
            "別の{role}が行ってください。"
        ),
    },
    "step.filer_only": {
        "en": "Step '{trigger}' is refused for {person} on {reference}: only the person who "
        "filed it, {filer}, may take it.",
        "ja": "{person} は {reference} に「{trigger}」をできません: 届け出た {filer} だけができます。",
    },
    "step.auditor": {
        "en": (
            "Step '{trigger}' is refused for {person} on {reference}: the audit officer acts "
            "on nothing, and only reads and verifies."
        ),
        "ja": (
            "{person} は {reference} に「{trigger}」をできません: 個人情報保護監査責任者は"
            "閲覧と検証のみを行い、操作はしません。"
        ),
    },
    "file.not_authorized": {
        "en": (
            "Filing '{workflow}' for {department} is refused for {person}: filing needs "
            "{role:a} of that department, and {person} holds {held}."
        ),
        "ja": (
            "{person} は {department} の「{workflow}」を届け出ることはできません: その部の"
            "{role}である必要がありますが、{person} の役割は {held} です。"
        ),
    },
    "evidence.fields": {
        "en": "Step '{trigger}' is refused for {reference}: {missing} must be given first.",
        "ja": "{reference} に「{trigger}」はできません: 先に {missing} を入力してください。",
    },
    "evidence.fresh": {
        "en": "Step '{trigger}' is refused for {reference}: it records a new fact each time, "
        "so {missing} must be given with it; the values of an earlier step are not taken.",
        "ja": "{reference} に「{trigger}」はできません: この手順は毎回新しい事実を記録するため、"
        "{missing} をこの手順で入力してください。前の手順の値は使われません。",
    },
    "evidence.checklist": {
        "en": "Step '{trigger}' is refused for {reference}: not yet confirmed: {missing}.",
        "ja": "{reference} に「{trigger}」はできません: 未確認の項目: {missing}。",
    },
    "evidence.comment": {
        "en": "Step '{trigger}' is refused for {reference}: a comment saying why is required.",
        "ja": "{reference} に「{trigger}」はできません: 理由のコメントが必要です。",
    },
    "evidence.expected": {
        "en": (
            "Step '{trigger}' is refused for {reference}: {field} must be {expected} and "
            "it is {actual}; the case cannot go on as it is."
        ),
        "ja": (
            "{reference} に「{trigger}」はできません: {field} は {expected} でなければなりませんが、"
            "{actual} です。このままでは進められません。"
        ),
    },
    "evidence.required": {
        "en": (
            "Step '{trigger}' is refused for {reference}: {triggers} is recorded, which makes "
            "“{field}” yes, so {required} must come first."
        ),
        "ja": (
            "{reference} に「{trigger}」はできません: {triggers} が記録されているため"
            "「{field}」に当たり、先に {required} が必要です。"
        ),
    },
    "value.derived": {
        "en": "{field} is not typed: the engine derives it from {triggers} (yes when any is yes).",
        "ja": "{field} は入力できません。{triggers} から導かれます(いずれかが「はい」なら「はい」)。",
    },
    "value.from_ledger": {
        "en": "{field} is not typed: the engine counts it from {ledger} when “{step}” is taken.",
        "ja": "{field} は入力できません。「{step}」の時点の{ledger}から数えられます。",
    },
    "value.invalid": {
        "en": "{field} must be {kind}; {value!s} is refused.",
        "ja": "{field} は{kind}で入力してください。{value!s} は受け付けません。",
    },
    "attachment.refused": {
        "en": (
            "The attachment {file} is refused: {problem}; only a regular file of at most "
            "{limit:n} may be attached, and nothing was recorded."
        ),
        "ja": (
            "添付ファイル {file} を受け付けられません({problem})。添付できるのは {limit:n} 以下の"
            "通常のファイルだけです。何も記録していません。"
        ),
    },
    "value.choice": {
        "en": "{field} must be one of {allowed}; {value!s} is refused.",
        "ja": "{field} は次のいずれかです: {allowed}。{value!s} は受け付けません。",
    },
    "value.order": {
        "en": "{later} ({later_value}) cannot be before {earlier} ({earlier_value}).",
        "ja": "{later}({later_value})を{earlier}({earlier_value})より前にはできません。",
    },
    "value.unknown_field": {
        "en": "Workflow {workflow} has no field called {field}; its fields are {known}.",
        "ja": "ワークフロー {workflow} に項目 {field} はありません。項目: {known}。",
    },
    "value.unknown_item": {
        "en": "Workflow {workflow} has no checklist item called {item}; its items are {known}.",
        "ja": "ワークフロー {workflow} に確認項目 {item} はありません。確認項目: {known}。",
    },
    "value.not_this_step": {
        "en": "{trigger} on {reference} cannot record {field}: a rule depends on it, and only "
        "{steps} records it.",
        "ja": "{reference} の{trigger}では {field} を記録できません。規則が参照する項目で、"
        "記録できるのは {steps} だけです。",
    },
    "value.future": {
        "en": "{field} ({value}) is later than now ({now}); a moment recorded must have passed.",
        "ja": "{field}({value})が現在({now})より後です。記録する日時は過去の日時にしてください。",
    },
    "value.case_unknown": {
        "en": "{field} names {reference}, which is no case; give the reference of a {workflow} "
        "case.",
        "ja": "{field} の {reference} という案件はありません。{workflow} の案件の整理番号を"
        "入力してください。",
    },
    "value.case_workflow": {
        "en": "{field} names {reference}, a {actual} case; it must be a {workflow} case.",
        "ja": "{field} の {reference} は{actual}の案件です。{workflow} の案件を入力してください。",
    },
    "link.department": {
        "en": "{field} names {reference}, a case of {linked_department}; a case of {department} "
        "may only name a case of its own department.",
        "ja": "{field} の {reference} は{linked_department}の案件です。{department}の案件が"
        "参照できるのは同じ部門の案件だけです。",
    },
    "link.not_in_effect": {
        "en": "{field} names {reference}, which is {state}, not in effect; a subcontracting "
        "moves forward only under an entrustment in effect (001 Art.6, 002 第9).",
        "ja": "{field} の {reference} は「{state}」で、実施中ではありません。再委託は実施中の"
        "預託の下でのみ進められます(001 第6条、002 第9)。",
    },
    "link.provision_refused": {
        "en": "{subject} refused provision to third parties and {request} complied (Art.19); a "
        "provision naming them needs consent law_permits and the legal ground in the comment "
        "(APPI Art.27-1).",
        "ja": "{subject} は第三者提供の停止を求め、{request} で停止しています(第19条)。この方を"
        "含む提供には同意 law_permits とコメントでの法令上の根拠が必要です(個人情報保護法"
        "第27条第1項)。",
    },
    "value.out_of_range": {
        "en": "{field} must be {kind} between {low} and {high}; {value} was given.",
        "ja": "{field} は {low} から {high} までの{kind}で入力してください。{value} は受け付けません。",
    },
    "value.character": {
        "en": "{field} must not contain {what}; {value} was given (character {position}).",
        "ja": "{field} に{what}は使えません。{value} は受け付けません({position} 文字目)。",
    },
    "value.too_long": {
        "en": "{field} must be at most {limit:n/character/characters} long; {length:n/character was/characters were} given.",
        "ja": "{field} は {limit:n} 文字以内で入力してください。{length:n} 文字が入力されました。",
    },
    "value.padded": {
        "en": "{field} must not begin or end with a space; {value} was given.",
        "ja": "{field} の先頭や末尾に空白は使えません。{value} は受け付けません。",
    },
    "value.empty": {
        "en": "{what} must not be empty.",
        "ja": "{what} を空にはできません。",
    },
    "roster.not_established": {
        "en": (
            "The roster has no representative yet, so {action} is refused; establish it first "
            "with the representative's name."
        ),
        "ja": "名簿に代表者がまだいないため {action} はできません。先に代表者を登録してください。",
    },
    "roster.established": {
        "en": "The roster is already established with representative {person}; nothing changed.",
        "ja": "名簿は代表者 {person} で登録済みです。変更はありません。",
    },
    "roster.not_authorized": {
        "en": "{person} cannot {action} {role:a}{department}: only {allowed:the-or} may.",
        "ja": "{person} は{department}{role}を{action}できません: できるのは {allowed:or} です。",
    },
    "roster.chief_auditor": {
        "en": (
            "{person} cannot be both the chief and the audit officer: the audit officer must be "
            "independent of the chief."
        ),
        "ja": (
            "{person} は個人情報管理責任者と個人情報保護監査責任者を兼ねられません: 監査責任者は"
            "管理責任者から独立している必要があります。"
        ),
    },
    "roster.self": {
        "en": (
            "{person} cannot appoint themselves as {role:a}{department}: nobody appoints "
            "themselves; another person who may ({allowed:the-or}) must."
        ),
        "ja": (
            "{person} は自分自身を{department}{role}に選任できません: 自らを選任することはできない"
            "ため、選任できる別の者({allowed:or})が行ってください。"
        ),
    },
    "roster.auditor_other": {
        "en": (
            "{person} cannot be both the audit officer and {role:a}{department}: the audit "
            "officer takes no step on any case and holds no other role while audit officer "
            "(Art.21)."
        ),
        "ja": (
            "{person} は個人情報保護監査責任者と{department}{role}を兼ねられません: 監査責任者は"
            "案件の手順を一切行わず、在任中は他の役割を持てません(第21条)。"
        ),
    },
    "roster.key_invalid": {
        "en": "The key given for {holder} is not an Ed25519 public key; nothing was registered.",
        "ja": "{holder} の鍵として指定されたものは Ed25519 公開鍵ではありません。登録していません。",
    },
    "roster.key_known": {
        "en": "Key {key_id} is already registered (to {holder}); nothing changed.",
        "ja": "鍵 {key_id} はすでに登録されています({holder})。変更はありません。",
    },
    "roster.key_not_authorized": {
        "en": "{person} cannot register a key for {holder}: only {allowed:the-or} may.",
        "ja": "{person} は {holder} の鍵を登録できません: できるのは {allowed:or} です。",
    },
    "roster.key_self": {
        "en": (
            "{person} cannot register their own key: whoever may appoint {person} registers "
            "it (only the representative's first key, which begins signing, is their own)."
        ),
        "ja": (
            "{person} は自分の鍵を登録できません: {person} を選任できる者が登録します(署名を"
            "始める代表者の最初の鍵のみ本人が登録します)。"
        ),
    },
    "roster.key_no_role": {
        "en": "{holder} holds no role: appoint them first, then register their key.",
        "ja": "{holder} は役割を持っていません。先に選任してから鍵を登録してください。",
    },
    "roster.key_unknown": {
        "en": "No key {key_id} is registered and in force; nothing was revoked.",
        "ja": "有効な鍵 {key_id} は登録されていません。失効させたものはありません。",
    },
    "roster.key_revoke_refused": {
        "en": (
            "{person} cannot revoke key {key_id} of {holder}: only its holder or whoever may "
            "register it may."
        ),
        "ja": (
            "{person} は {holder} の鍵 {key_id} を失効できません: できるのは本人か、その鍵を登録"
            "できる者です。"
        ),
    },
    "signing.no_key": {
        "en": (
            "{writer} cannot write: this store signs every event and no key was given to sign "
            "with (the command line: make one with `approvals key new` and have it registered; "
            "a host: open_approvals(signer=...))."
        ),
        "ja": (
            "{writer} は書き込めません: このストアはすべてのイベントに署名します。署名する鍵が"
            "ありません(コマンドラインでは `approvals key new` で作成して登録を受けてください。"
            "ホストは open_approvals(signer=...))。"
        ),
    },
    "signing.unregistered": {
        "en": (
            "{writer} cannot write with key {key_id}: it is not registered on the roster (or "
            "was revoked); whoever may appoint {holder} registers it with "
            "`approvals roster register-key`."
        ),
        "ja": (
            "{writer} は鍵 {key_id} で書き込めません: 名簿に登録されていないか失効しています。"
            "{holder} を選任できる者が `approvals roster register-key` で登録します。"
        ),
    },
    "signing.other_person": {
        "en": "Key {key_id} is {holder}'s own: it cannot sign for {writer}.",
        "ja": "鍵 {key_id} は {holder} 本人のものです: {writer} のために署名できません。",
    },
    "roster.already": {
        "en": "{person} is already {role:a}{department}; nothing changed.",
        "ja": "{person} はすでに{department}{role}です。変更はありません。",
    },
    "roster.not_held": {
        "en": "{person} is not {role:a}{department}, so cannot be dismissed as one.",
        "ja": "{person} は{department}{role}ではないため、解任できません。",
    },
    "roster.department_needed": {
        "en": "Each {role} belongs to a department; name the department.",
        "ja": "{role}は部ごとの役割です。部を指定してください。",
    },
    "roster.no_department": {
        "en": "The {role} is company-wide and takes no department.",
        "ja": "{role}は全社の役割のため、部は指定できません。",
    },
    "roster.unknown_role": {
        "en": "There is no role called {role}; the roles are {known}.",
        "ja": "役割 {role} はありません。役割: {known}。",
    },
    "roster.last_representative": {
        "en": "{person} is the only representative and cannot be dismissed; appoint another first.",
        "ja": "{person} は唯一の代表者のため解任できません。先に別の代表者を選任してください。",
    },
    "case.disposed": {
        "en": (
            "{reference} was disposed of on {date} by {by} ({method}); only its disposal record "
            "remains."
        ),
        "ja": "{reference} は {date} に {by} が廃棄しました({method})。廃棄の記録のみが残っています。",
    },
    "retention.disposed": {
        "en": "{reference} was disposed of already; only its disposal record remains.",
        "ja": "{reference} は廃棄済みです。廃棄の記録のみが残っています。",
    },
    "retention.held": {
        "en": "Disposal of {reference} is refused: a legal hold stands ({reason}); release it first.",
        "ja": "{reference} の廃棄はできません: 保全措置中です({reason})。先に解除してください。",
    },
    "retention.running": {
        "en": (
            "Disposal of {reference} is refused: its records must be kept until {until}; after "
            "that the chief may approve disposal."
        ),
        "ja": "{reference} の廃棄はできません: {until} まで保存が必要です。その後、管理責任者が廃棄を承認できます。",
    },
    "retention.linked": {
        "en": (
            "Disposal of {reference} is refused: it names {linked}, whose records must be kept "
            "until {until}, and is kept as long (Art.15-7); after that the chief may approve "
            "disposal."
        ),
        "ja": (
            "{reference} の廃棄はできません: 関連する {linked} の記録は {until} まで保存が必要で、"
            "同じ期間保存します(第15条第7項)。その後、管理責任者が廃棄を承認できます。"
        ),
    },
    "retention.already_held": {
        "en": "{reference} is already under a legal hold ({reason}); nothing changed.",
        "ja": "{reference} はすでに保全措置中です({reason})。変更はありません。",
    },
    "retention.not_held": {
        "en": "{reference} has no legal hold to release.",
        "ja": "{reference} に解除する保全措置はありません。",
    },
    "retention.not_approved": {
        "en": (
            "Disposal of {reference} is refused: the chief has not approved it; the chief runs "
            "`approvals retention approve {reference}` first."
        ),
        "ja": "{reference} の廃棄はできません: 管理責任者の承認がありません。先に `approvals retention approve {reference}` が必要です。",
    },
    "remind.not_authorized": {
        "en": "{person} cannot see everyone's reminders: only {allowed:the-or} may; anyone sees their "
        "own with `approvals remind`.",
        "ja": "{person} は全員の期限通知を見ることはできません。できるのは {allowed:or} です。"
        "自分の分は `approvals remind` で見られます。",
    },
    "retention.not_authorized": {
        "en": "{person} cannot {action} {reference}: only {allowed:the-or} may.",
        "ja": "{person} は {reference} の{action}をできません: できるのは {allowed:or} です。",
    },
    "audit.not_sound": {
        "en": (
            "No checkpoint was signed: the log does not verify ({count:n/finding/findings}; the first: "
            "{first}). Run `approvals audit verify` for the whole report."
        ),
        "ja": (
            "チェックポイントを作成しませんでした: ログの検証に失敗しています(指摘 {count:n} 件、"
            "最初の指摘: {first})。全体は `approvals audit verify` で確認してください。"
        ),
    },
    "bundle.not_sealed": {
        "en": (
            "The bundle {path} holds no sealed case keys (it was exported without --seal-to): "
            "verify it without --open-with, or ask for a bundle sealed to your public key."
        ),
        "ja": (
            "バンドル {path} には封をした案件の鍵がありません(--seal-to なしでエクスポートされて"
            "います): --open-with なしで検証するか、あなたの公開鍵に封をしたバンドルを依頼してください。"
        ),
    },
    "bundle.sealed_to_other": {
        "en": (
            "The case keys of the bundle {path} are sealed to key {sealed}, not to key {key}: "
            "open them with the private key of {sealed}."
        ),
        "ja": (
            "バンドル {path} の案件の鍵は鍵 {sealed} に封をされており、鍵 {key} ではありません: "
            "{sealed} の秘密鍵で開いてください。"
        ),
    },
    "audit.empty": {
        "en": "No checkpoint was signed: the log holds no event yet.",
        "ja": "チェックポイントを作成しませんでした: ログにまだイベントがありません。",
    },
    "audit.no_position": {
        "en": "There is no event at position {position}: the tree proved against holds {size:n/event/events}, at positions from 0.",
        "ja": "位置 {position} のイベントはありません: 証明の対象のツリーのイベントは {size:n} 件で、位置は 0 から数えます。",
    },
    "audit.case_outside": {
        "en": "No event of {reference} is among the first {size:n/event/events} that {path} signed; prove it without --checkpoint, or against a later checkpoint.",
        "ja": "{reference} のイベントは {path} が署名した最初の {size:n} 件に含まれていません。--checkpoint なしで、または後のチェックポイントで証明してください。",
    },
    "audit.checkpoint_unsigned": {
        "en": "No proof was given: {path} is not validly signed, so nothing can be proved against it.",
        "ja": "証明を出力しませんでした: {path} の署名が正しくないため、これに対しては証明できません。",
    },
    "audit.checkpoint_beyond": {
        "en": "No proof was given: {path} records {size:n/event/events} but the log holds {events:n} (cut short, or another log); run `approvals audit verify --checkpoint {path}` for the report.",
        "ja": "証明を出力しませんでした: {path} は {size:n} 件を記録していますが、ログのイベントは {events:n} 件です(切り取られたか別のログです)。`approvals audit verify --checkpoint {path}` で確認してください。",
    },
    "audit.checkpoint_mismatch": {
        "en": "No proof was given: the root of the first {size:n/event/events} of the log is not the root {path} signed; run `approvals audit verify --checkpoint {path}` for the report.",
        "ja": "証明を出力しませんでした: ログの最初の {size:n} 件のルートが {path} の署名したルートと一致しません。`approvals audit verify --checkpoint {path}` で確認してください。",
    },
    "audit.not_recorded": {
        "en": "No proof was given: the event at position {position} is not what the ledger recorded (or is gone); run `approvals audit verify` for the report.",
        "ja": "証明を出力しませんでした: 位置 {position} のイベントは台帳の記録と異なります(または存在しません)。`approvals audit verify` で確認してください。",
    },
    "audit.ledger_damaged": {
        "en": "No proof was given: the ledger's row at position {position} is missing or damaged; run `approvals audit verify` for the report.",
        "ja": "証明を出力しませんでした: 位置 {position} の台帳の行が欠けているか壊れています。`approvals audit verify` で確認してください。",
    },
    "roster.unreadable": {
        "en": (
            "The roster cannot be read (its events do not replay: the log may have been "
            "changed behind the engine's back), so {person} cannot be identified and nothing "
            "is done: run `approvals audit verify`, open to anyone who can read the database, "
            "to see what is wrong."
        ),
        "ja": (
            "名簿を読み出せません(イベントを再生できず、ログが外部から変更された可能性があります)。"
            "そのため {person} を確認できず、何も行いません: データベースを読める人なら誰でも実行"
            "できる `approvals audit verify` で何が起きたかを確認してください。"
        ),
    },
    "audit.since_unpinned": {
        "en": (
            "Nothing was verified: --since-checkpoint needs the auditor's public key (--key), "
            "which must have signed {path}."
        ),
        "ja": (
            "検証していません: --since-checkpoint には {path} に署名した監査責任者の公開鍵"
            "(--key)が必要です。"
        ),
    },
    "audit.since_unsigned": {
        "en": "Nothing was verified: {path} is not validly signed, so nothing can be verified since it.",
        "ja": "検証していません: {path} の署名が正しくないため、これ以降の検証はできません。",
    },
    "audit.since_key": {
        "en": (
            "Nothing was verified: {path} is signed by key {key_id}, which is not one of the keys "
            "given with --key; verify since a checkpoint the auditor signed."
        ),
        "ja": (
            "検証していません: {path} は --key で指定されていない鍵 {key_id} で署名されています。"
            "監査責任者が署名したチェックポイント以降を検証してください。"
        ),
    },
    "audit.since_unverified": {
        "en": (
            "Nothing was verified: {path} does not say it was made after a full verification "
            "that found nothing (it was made by an earlier version); make one with `approvals "
            "audit checkpoint` and verify since that one."
        ),
        "ja": (
            "検証していません: {path} には、指摘のない完全な検証の後に作成されたことが記されて"
            "いません(以前の版で作成されています)。`approvals audit checkpoint` で作成し、"
            "それ以降を検証してください。"
        ),
    },
    "audit.since_bundle": {
        "en": "--since-checkpoint verifies the database, not a bundle: give it without --bundle and --open-with.",
        "ja": "--since-checkpoint はデータベースを検証します(バンドルではありません): --bundle と --open-with なしで指定してください。",
    },
    "audit.since": {
        "en": (
            "Incremental since position {position} (checkpoint of {signed}): signatures and rules "
            "checked for {events:n/event/events} of {cases:n/case/cases}; the {position:n/event before was/events before were} "
            "re-hashed against the signed root."
        ),
        "ja": (
            "位置 {position} 以降の差分検証({signed} のチェックポイント): {cases:n} 件の案件の "
            "{events:n} 件のイベントについて署名と規則を確認しました。それより前の {position} 件の"
            "イベントは署名されたルートに照らして再計算しました。"
        ),
    },
    "audit.counts": {
        "en": "Findings by kind: {counts}.",
        "ja": "種類別の指摘: {counts}。",
    },
    "audit.left_out": {
        "en": "{shown:n} of {count:n/finding/findings} shown; {left:n} more left out (--limit 0 shows all).",
        "ja": "指摘 {count:n} 件のうち {shown:n} 件を表示しました。残り {left:n} 件は省略しています"
        "(--limit 0 ですべて表示)。",
    },
    "audit.unpinned": {
        "en": (
            "No finding, but no checkpoint signed by a key given with --key was checked: this "
            "shows the log's internal consistency only, not that it is the log the auditor "
            "signed (a log rewritten with recomputed hashes would pass too)."
        ),
        "ja": (
            "指摘はありませんが、--key で指定した鍵で署名されたチェックポイントと照合していません:"
            " この結果はログの内部の整合性を示すだけで、監査責任者が署名したログであることは示し"
            "ません(ハッシュを再計算して書き換えたログも合格します)。"
        ),
    },
    "conflict": {
        "en": (
            "{what} was changed by someone else at the same moment; nothing of yours was "
            "written. Read it again and retry."
        ),
        "ja": (
            "{what} は同時に他の人が変更しました。あなたの操作は記録されていません。"
            "読み直してからやり直してください。"
        ),
    },
    "storage.unreachable": {
        "en": "Cannot use the database {url}: {reason}.",
        "ja": "データベース {url} を使えません: {reason}。",
    },
    "storage.needs_upgrade": {
        "en": "Cannot use the database {url}: {reason}; nothing was written, and the store's owner runs `approvals --db {owner} upgrade` first.",
        "ja": "データベース {url} を使えません({reason})。何も書き込んでいません: 先に保存先の所有者が `approvals --db {owner} upgrade` を実行してください。",
    },
    "storage.newer": {
        "en": "Cannot use the database {url}: a newer release of approvals than this one ({release}) upgraded it (schema {revision}), and no store is ever downgraded; nothing was written, so use that release or a later one.",
        "ja": "データベース {url} を使えません: このリリース({release})より新しい approvals が更新しています(スキーマ {revision})。保存先を古いリリースに戻すことはしません。何も書き込んでいません: そのリリース以降の approvals を使ってください。",
    },
}
