"""The long-term lab chart review (`type: lab_safety`): extraction of the labs in the database
(`extract`), their units (`units`) and values by window (`values`), and the analysis (`chart_review`)."""
