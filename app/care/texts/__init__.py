"""Care texts (seed 002: 客服经理制定《首保提醒话术》、《定保提醒话术》、《流失跟踪话术》
《主动预约话术》、生日祝福、节日祝福、特殊天气提醒等关怀话术,并根据使用情况适时调整): every
message the daily job sends, the greetings and warnings a manager broadcasts, and the agents'
call scripts are templates the care manager edits, in Chinese and English, versioned.

- ``kinds.py``: which texts there are, the placeholders each may use, which scripts a call
  task shows.
- ``placeholders.py``: reading ``{name}``-style placeholders, refusing unknown or malformed
  ones, and filling them in without ``str.format`` (an owner's name with braces is just text).
- ``reminders.py``: the built-in texts of the daily job's reminders (the texts as shipped) and
  the values their placeholders take.
- ``defaults.py``: the built-in text of every kind, as an editable template.
- ``services.py``: saving versions, the text in force for a dealer (the dealer's own, else the
  group's, else the built-in), previews, the scripts of a call task.
"""
