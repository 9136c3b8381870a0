"""Video question answering with the E-SA model on clip features (paper Sec. IV-D, Table VI).

``activitynet`` reads the ActivityNet-QA files, ``splits`` picks train / val / test, ``text`` turns
questions and answers into ids (and reads GloVe), ``data`` pairs questions with their video's 20 clip
features, ``model`` is E-SA, ``train`` / ``evaluate`` are ``clipcop vqa train`` / ``clipcop vqa eval`` as
functions (:func:`clipcop.vqa.train.train_vqa`, :func:`clipcop.vqa.evaluate.eval_vqa`), and ``report``
renders the Table VI layout.
"""
